"""Shared fixtures: the cskd binary, a tiny class-balanced CIFAR-10 subset of real images (cut by
`cskd subset`), and a short cskd run on it (so weights, momentum and running statistics are not
at their initial values)."""

import json
import os
import pathlib
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]


def cskd_bin():
    path = os.environ.get("CSKD_BIN") or next(
        (str(p) for p in (REPO / "target/debug/cskd", REPO / "target/release/cskd") if p.exists()), None)
    if not path:
        raise RuntimeError("no cskd binary: run `cargo build --locked --bin cskd` or set CSKD_BIN")
    return path


def run_cskd(*args):
    """Runs cskd; returns stdout; a failure shows its stderr."""
    env = dict(os.environ)
    env.setdefault("XDG_RUNTIME_DIR", "/tmp")
    r = subprocess.run([cskd_bin(), *map(str, args)], capture_output=True, text=True, env=env)
    if r.returncode:
        raise AssertionError(f"cskd {' '.join(map(str, args))} failed ({r.returncode}):\n{r.stderr}")
    return r.stdout


@pytest.fixture(scope="session")
def full_data():
    """CIFAR-10 where the CLI's one resolver finds it (`cskd data-path`: $CSKD_DATA, else
    $SHARED or ../shared beside the clone, else the download cache)."""
    shared = os.environ.get("SHARED") or str(REPO.parent / "shared")
    return run_cskd("data-path", "--shared", shared).strip()


@pytest.fixture(scope="session")
def tiny(tmp_path_factory, full_data):
    """4 training and 3 test images per class (seed 0), in the official .tar.gz layout."""
    out = tmp_path_factory.mktemp("data") / "tiny.tar.gz"
    run_cskd("subset", "--data", full_data, "--per-class", 4, "--test-per-class", 3, "--out", out)
    return str(out)


def train_run(tmp_path_factory, tiny, model, width):
    out = tmp_path_factory.mktemp(f"run-{model}")
    run_cskd("train", "--data", tiny, "--model", model, "--width", width, "--method", "cskd",
             "--epochs", 2, "--batch", 8, "--lr", 0.05, "--seed", 1, "--quiet", "--out", out)
    return str(out / "last.safetensors")


@pytest.fixture(scope="session")
def smallcnn_ckpt(tmp_path_factory, tiny):
    return train_run(tmp_path_factory, tiny, "smallcnn", 4)


@pytest.fixture(scope="session")
def resnet10_ckpt(tmp_path_factory, tiny):
    return train_run(tmp_path_factory, tiny, "resnet10", 2)


@pytest.fixture
def checkpoints(smallcnn_ckpt, resnet10_ckpt):
    return {"smallcnn": smallcnn_ckpt, "resnet10": resnet10_ckpt}


def cskd_json(*args):
    return json.loads(run_cskd(*args))

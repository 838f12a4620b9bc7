"""A 2-process gloo DDP run writes a cskd checkpoint that `cskd eval` reads, with the metrics the
PyTorch side recorded for it."""

import json
import os
import signal
import subprocess
import sys

from cskd_torch import checkpoint
from conftest import REPO, cskd_json


def test_torchrun_gloo_checkpoint_opens_in_cskd(smallcnn_ckpt, tiny, tmp_path):
    out = tmp_path / "ddp"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(REPO / "python/train.py"), "--init", smallcnn_ckpt, "--data", tiny, "--epochs", "2",
           "--batch", "8", "--lr", "0.02", "--max-steps", "3", "--workers", "0", "--out", str(out)]
    # Its own process group, so a hang ends with every worker killed, not orphaned.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env, start_new_session=True)
    try:
        log, _ = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    r = subprocess.CompletedProcess(cmd, proc.returncode, log, "")
    assert r.returncode == 0, r.stdout + r.stderr
    path = out / "last.safetensors"
    assert path.exists() and (out / "best.safetensors").exists()
    assert not [f for f in os.listdir(out) if f.endswith(".tmp")]

    ck = checkpoint.read(path)
    before = checkpoint.read(smallcnn_ckpt)
    assert ck.model == before.model
    assert ck.state["stepsDone"] == 3 and ck.config["lr"] == 0.02
    # Both forwards of a CS-KD step count a batch, as in cskd.
    tracked = before.tensors["features.1.num_batches_tracked"].item()
    assert ck.tensors["features.1.num_batches_tracked"].item() == tracked + 2 * 3
    assert any((ck.tensors[k] - before.tensors[k]).abs().max() > 0 for k in before.tensors)

    metrics = cskd_json("eval", "--checkpoint", path, "--data", tiny, "--json")
    assert metrics["count"] == 30
    assert 0.0 <= metrics["top1Error"] <= 1.0 and metrics["nll"] > 0
    ours = ck.history[-1]["test"]
    assert abs(metrics["top1Error"] - ours["top1Error"]) < 1e-9
    assert abs(metrics["nll"] - ours["nll"]) < 1e-4 and abs(metrics["ece"] - ours["ece"]) < 1e-4
    assert metrics["confusion"] == ours["confusion"]
    lines = (out / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(l)["epoch"] for l in lines] == [1]


def test_train_reports_bad_input_in_one_line(tiny, tmp_path):
    missing = tmp_path / "missing.safetensors"
    r = subprocess.run([sys.executable, str(REPO / "python/train.py"), "--init", str(missing), "--data", tiny,
                        "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert r.returncode != 0 and r.stderr.startswith("error:") and "missing.safetensors" in r.stderr
    assert "Traceback" not in r.stderr


def test_train_refuses_settings_cskd_would_refuse(smallcnn_ckpt, tiny, tmp_path):
    r = subprocess.run([sys.executable, str(REPO / "python/train.py"), "--init", smallcnn_ckpt, "--data", tiny,
                        "--lr", "-1", "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert r.returncode != 0 and "error: lr = -1.0 is invalid: expected > 0" in r.stderr
    assert not (tmp_path / "o").exists()

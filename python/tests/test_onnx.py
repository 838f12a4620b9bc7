"""The ONNX export runs in onnxruntime with cskd's logits."""

import numpy as np
import onnxruntime
import pytest
import subprocess
import sys
from safetensors.torch import load_file

from cskd_torch import data
from conftest import REPO, run_cskd


def test_onnx_logits_equal_cskd(resnet10_ckpt, tiny, tmp_path):
    out = tmp_path / "model.onnx"
    r = subprocess.run([sys.executable, "-m", "cskd_torch.export_onnx", resnet10_ckpt, str(out)],
                       capture_output=True, text=True, cwd=REPO / "python")
    assert r.returncode == 0, r.stdout + r.stderr
    theirs = tmp_path / "logits.safetensors"
    run_cskd("logits", "--checkpoint", resnet10_ckpt, "--data", tiny, "--out", theirs)
    ref = load_file(str(theirs))
    _, _, test, _ = data.load(tiny)
    x = data.normalise(test.images[ref["indices"].numpy()]).numpy()
    (got,) = onnxruntime.InferenceSession(str(out)).run(["logits"], {"images": x})
    assert got.shape == (30, 10)  # a batch size other than the traced one
    assert np.abs(got - ref["logits"].numpy()).max() < 1e-4


def test_onnx_export_refuses_a_plain_file(tmp_path):
    bad = tmp_path / "x.safetensors"
    bad.write_bytes(b"nonsense")
    r = subprocess.run([sys.executable, "-m", "cskd_torch.export_onnx", str(bad), str(tmp_path / "o.onnx")],
                       capture_output=True, text=True, cwd=REPO / "python")
    assert r.returncode != 0 and "error:" in r.stderr

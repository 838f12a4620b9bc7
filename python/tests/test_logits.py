"""PyTorch loads a cskd checkpoint and gives cskd's logits on real CIFAR-10 test images."""

import pytest
import torch
from safetensors.torch import load_file

from cskd_torch import checkpoint, data
from conftest import run_cskd


@pytest.mark.parametrize("model", ["smallcnn", "resnet10"])
def test_logits_equal_cskd(model, checkpoints, tiny, tmp_path):
    ckpt = checkpoints[model]
    out = tmp_path / "logits.safetensors"
    run_cskd("logits", "--checkpoint", ckpt, "--data", tiny, "--out", out)
    theirs = load_file(str(out))
    _, _, test, _ = data.load(tiny)
    idx = theirs["indices"].numpy()
    assert len(idx) == len(test) == 30
    assert torch.equal(theirs["labels"], torch.as_tensor(test.labels[idx]))
    net = checkpoint.read(ckpt).build().eval()
    with torch.no_grad():
        ours = net(data.normalise(test.images[idx]))
    assert ours.shape == theirs["logits"].shape == (30, 10)
    diff = (ours - theirs["logits"]).abs().max().item()
    assert diff < 1e-4, f"{model}: logits differ by {diff}"
    # Trained weights, not a constant net: the logits vary across images.
    assert ours.std(0).min() > 0


def test_first_per_class_selection(smallcnn_ckpt, tiny, tmp_path):
    out = tmp_path / "logits.safetensors"
    run_cskd("logits", "--checkpoint", smallcnn_ckpt, "--data", tiny, "--test-per-class", 1, "--out", out)
    got = load_file(str(out))
    assert sorted(got["labels"].tolist()) == list(range(10))
    _, _, test, _ = data.load(tiny)
    first = [int(next(i for i, l in enumerate(test.labels) if l == c)) for c in range(10)]
    assert got["indices"].tolist() == sorted(first)

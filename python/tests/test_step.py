"""One step in PyTorch from the same weights, momentum and batch gives cskd's updated weights,
momentum buffers and batch-norm running statistics (no augmentation)."""

import json

import pytest
import torch

from cskd_torch import checkpoint, data
from cskd_torch.step import sgd, train_step
from conftest import run_cskd

LR = 0.05


def pairs(labels, n):
    """The first n images as anchors, each with another image of its class as partner."""
    anchors = list(range(n))
    partners = [next(j for j in range(len(labels)) if labels[j] == labels[a] and j != a) for a in anchors]
    return anchors, partners


@pytest.mark.parametrize("model,method", [("smallcnn", "cskd"), ("resnet10", "cskd"), ("smallcnn", "ls")])
def test_step_equals_cskd(model, method, checkpoints, tiny, tmp_path):
    ckpt = checkpoints[model]
    _, train, _, _ = data.load(tiny)
    anchors, partners = pairs(train.labels, 8)
    out = tmp_path / "after.safetensors"
    args = ["step", "--checkpoint", ckpt, "--data", tiny, "--anchors", ",".join(map(str, anchors)),
            "--method", method, "--lr", LR, "--out", out]
    if method == "cskd":
        args += ["--partners", ",".join(map(str, partners))]
    rust = json.loads(run_cskd(*args))

    before = checkpoint.read(ckpt)
    assert any(m.abs().max() > 0 for m in before.momentum.values()), "momentum should be non-trivial"
    net = before.build()
    config = dict(before.config, method=method)
    opt = sgd(net, config, lr=LR)
    checkpoint.load_momentum(net, opt, before.momentum)
    y = torch.as_tensor(train.labels[anchors])
    xp = data.normalise(train.images[partners]) if method == "cskd" else None
    loss, ce, kl = train_step(net, opt, data.normalise(train.images[anchors]), y, xp, config)
    assert abs(loss - rust["loss"]) < 1e-4 and abs(ce - rust["ce"]) < 1e-4 and abs(kl - rust["kl"]) < 1e-4
    if method == "cskd":
        assert kl > 0  # distinct partners: the class-wise term is active

    after = checkpoint.read(out)
    ours = net.state_dict()
    assert set(ours) == set(after.tensors)
    for name, t in ours.items():
        if name.endswith("num_batches_tracked"):
            assert t.item() == after.tensors[name].item(), name
            continue
        diff = (t - after.tensors[name]).abs().max().item()
        assert diff < 1e-4, f"{name} differs by {diff}"
        if name.endswith(".weight") and name in dict(net.named_parameters()):
            assert not torch.equal(after.tensors[name], before.tensors[name]), f"{name} did not move"
    for name, buf in checkpoint.momentum_buffers(net, opt).items():
        diff = (buf - after.momentum[name]).abs().max().item()
        assert diff < 1e-4, f"momentum of {name} differs by {diff}"

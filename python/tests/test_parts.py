"""The twin's parts on their own: the sharded pair sampler, the loss gradient of docs/ALGORITHM.md, cskd's
subset choice, the models' parameter counts, and checkpoints written here read back."""

import json

import numpy as np
import pytest
import torch

from cskd_torch import checkpoint, data, rng
from cskd_torch.loss import cskd_loss
from cskd_torch.models import build_model
from cskd_torch.sampler import ClassPairSampler
from cskd_torch.step import sgd, train_step
from conftest import run_cskd


def test_sampler_shards_anchors_and_draws_partners_from_the_whole_class():
    labels = torch.arange(40) % 4  # 4 classes of 10
    seen_anchor, outside = [], 0
    for rank in range(3):
        s = ClassPairSampler(labels, num_replicas=3, rank=rank, seed=5)
        s.set_epoch(2)
        pairs = list(s)
        assert len(pairs) == len(s) == 14  # ceil(40 / 3), padded like DistributedSampler
        mine = {a for a, _ in pairs}
        for a, p in pairs:
            assert labels[a] == labels[p]
            outside += p not in mine
        seen_anchor += [a for a, _ in pairs]
    assert set(seen_anchor) == set(range(40)) and len(seen_anchor) == 42
    assert outside > 0, "partners must come from the whole class, not only the rank's shard"
    a = ClassPairSampler(labels, 3, 0, seed=5)
    b = ClassPairSampler(labels, 3, 0, seed=5)
    a.set_epoch(1)
    b.set_epoch(1)
    assert list(a) == list(b)
    b.set_epoch(2)
    assert a.anchors().tolist() != b.anchors().tolist()
    with pytest.raises(ValueError, match="rank 3 out of range"):
        ClassPairSampler(labels, 3, 3)


def test_loss_gradient_is_the_fused_kernels():
    torch.manual_seed(0)
    za = torch.randn(6, 5, dtype=torch.float64, requires_grad=True)
    zp = torch.randn(6, 5, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 3, 4, 0])
    t, lam = 4.0, 0.7
    loss, ce, kl = cskd_loss(za, y, zp, t, lam)
    loss.backward()
    p, q = torch.softmax(za.detach() / t, 1), torch.softmax(zp / t, 1)
    expected = (torch.softmax(za.detach(), 1) - torch.eye(5, dtype=torch.float64)[y]) / 6 + lam * t * (p - q) / 6
    assert torch.allclose(za.grad, expected, atol=1e-12)
    kl_ref = (q * (q.log() - p.log())).sum(1).mean() * t * t
    assert abs(kl.item() - kl_ref.item()) < 1e-12 and abs(loss.item() - ce.item() - lam * kl.item()) < 1e-12


def test_balanced_subset_picks_what_cskd_subset_picks(full_data, tiny):
    _, train, test, _ = data.load(full_data)
    _, t_train, t_test, _ = data.load(tiny)
    idx = rng.balanced_subset(train.labels.tolist(), 4, 10, 0)
    assert np.array_equal(train.images[idx], t_train.images)
    assert np.array_equal(train.labels[idx], t_train.labels)
    idx = rng.balanced_subset(test.labels.tolist(), 3, 10, 0 ^ 0x7E57)
    assert np.array_equal(test.images[idx], t_test.images)


def test_parameter_counts_and_names():
    assert sum(p.numel() for p in build_model("resnet18", 64).parameters()) == 11_171_274  # the paper's 11.2 M
    sd = build_model("resnet10", 4).state_dict()
    assert "layer2.0.shortcut.0.weight" in sd and "layer1.0.shortcut.0.weight" not in sd
    assert "features.14.weight" in build_model("smallcnn", 4).state_dict()
    with pytest.raises(ValueError, match="unknown model 'vgg'"):
        build_model("vgg")


def test_bad_files_give_clear_errors(tmp_path):
    bad = tmp_path / "x.tar.gz"
    bad.write_bytes(b"not an archive")
    with pytest.raises(ValueError, match="not a tar archive"):
        data.load(bad)
    with pytest.raises(ValueError, match="whole number of 3073-byte records"):
        data.parse_records(b"\0" * 100, "cifar10", "data_batch_1.bin")
    plain = tmp_path / "plain.safetensors"
    from safetensors.torch import save_file
    save_file({"fc.weight": torch.zeros(2, 2)}, str(plain))
    with pytest.raises(ValueError, match="not a cskd checkpoint"):
        checkpoint.read(plain)


def test_written_checkpoint_reads_back_in_cskd(smallcnn_ckpt, tiny, tmp_path):
    ck = checkpoint.read(smallcnn_ckpt)
    net = ck.build()
    with torch.no_grad():
        net.fc.bias += 1.0  # a change cskd must see
    mom = {k: v + 0.5 for k, v in ck.momentum.items()}
    out = tmp_path / "py.safetensors"
    checkpoint.write(out, checkpoint.encode(net, mom, ck.model, ck.config, ck.state, ck.history, ck.classes))
    back = checkpoint.read(out)
    assert back.config == ck.config and back.classes == ck.classes and back.model == ck.model
    assert torch.equal(back.tensors["fc.bias"], ck.tensors["fc.bias"] + 1.0)
    # cskd takes it: a step at lr 0 keeps the weights and continues the momentum written here,
    # exactly as PyTorch's SGD continues it (0.9 * m + g + wd * w).
    after = tmp_path / "after.safetensors"
    run_cskd("step", "--checkpoint", out, "--data", tiny, "--anchors", "0,1", "--method", "ce",
             "--lr", 0.0, "--out", after)
    stepped = checkpoint.read(after)
    assert torch.equal(stepped.tensors["fc.bias"], back.tensors["fc.bias"])
    net2 = back.build()
    config = dict(back.config, method="ce")
    opt = sgd(net2, config, lr=0.0)
    checkpoint.load_momentum(net2, opt, back.momentum)
    _, train, _, _ = data.load(tiny)
    train_step(net2, opt, data.normalise(train.images[:2]), torch.as_tensor(train.labels[:2]), None, config)
    for name, buf in checkpoint.momentum_buffers(net2, opt).items():
        assert (buf - stepped.momentum[name]).abs().max() < 1e-4, name


@pytest.mark.parametrize("args,message", [
    (["--anchors", "0,999"], "index 999 out of range: the training split has 40 images"),
    (["--anchors", "0", "--partners", "1"], "has another class than anchor"),
    (["--anchors", "0,1"], "CS-KD needs one partner per anchor"),
])
def test_cskd_step_refuses_bad_indices(args, message, smallcnn_ckpt, tiny, tmp_path):
    import subprocess
    from conftest import cskd_bin
    _, train, _, _ = data.load(tiny)
    assert train.labels[0] != train.labels[1]  # what the second case relies on
    r = subprocess.run([cskd_bin(), "step", "--checkpoint", smallcnn_ckpt, "--data", tiny, "--method", "cskd",
                        *args, "--out", str(tmp_path / "o.safetensors")], capture_output=True, text=True)
    assert r.returncode != 0 and message in r.stderr and "panicked" not in r.stderr
    assert not (tmp_path / "o.safetensors").exists()


def test_pairs_load_through_a_dataloader_with_augmentation():
    images = np.zeros((8, 3, 32, 32), np.uint8)
    images[:, :, :, :16] = 255  # left half white: a flip moves it right
    split = data.Split(images, np.array([0, 1] * 4))
    sampler = ClassPairSampler(split.labels, num_replicas=2, rank=1, seed=3)
    loader = torch.utils.data.DataLoader(data.PairDataset(split), batch_size=2, sampler=sampler)
    batches = list(loader)
    assert len(batches) == 2
    xa, xp, y = batches[0]
    assert xa.shape == xp.shape == (2, 3, 32, 32) and y.dtype == torch.int64
    g = torch.Generator().manual_seed(0)
    outs = [data.augment(images[0], g) for _ in range(200)]
    assert all(o.shape == (3, 32, 32) for o in outs)
    assert any(o[:, :, -1].max() == 255 for o in outs), "some draws are flipped"
    assert any(o[:, 0, :].max() == 0 for o in outs), "some draws show the zero padding"
    plain = data.normalise(images[:1])
    assert torch.allclose(plain[0, 0, 0, 0], torch.tensor((1 - data.MEAN[0]) / data.STD[0]))


def test_twin_refuses_methods_it_does_not_train():
    from cskd_torch import train as twin_train
    base = dict(checkpoint.CONFIG_DEFAULTS)
    for change, word in (({"method": "pskd"}, "method = pskd"), ({"mix": "mixup"}, "mix = mixup"),
                         ({"kdLambda": 0.5}, "kdLambda = 0.5")):
        with pytest.raises(ValueError, match=word):
            twin_train.validate(dict(base, **change))
    whole = dict(base, calibrationFraction=0.1, perClass=0)
    twin_train.validate(whole)
    assert whole["calibrationFraction"] == 0.0  # the twin trains on every image


def test_experiment_runs_a_grid_once_and_tables_it(tiny, tmp_path, capsys):
    from cskd_torch import experiment
    out = tmp_path / "exp"
    args = ["--methods", "ce,cskd,ce", "--seeds", "1,2", "--out", str(out), "--",
            "--data", tiny, "--width", "4", "--epochs", "1", "--batch", "8", "--lr", "0.05", "--workers", "0"]
    experiment.main(args)
    table = (out / "results.md").read_text()
    assert capsys.readouterr().out.endswith(table)
    assert table.startswith("| method | seeds | best top-1 err % |")
    assert "| ce | 2 |" in table and "| cskd | 2 |" in table
    doc = json.loads((out / "results.json").read_text())
    assert len(doc["runs"]) == 4
    ce = [r["bestTop1Error"] for r in doc["runs"] if r["method"] == "ce"]
    assert abs(doc["summary"][0]["metrics"]["bestTop1Error"]["mean"] - sum(ce) / 2) < 1e-12
    # A second call trains nothing: the checkpoints stay as they are.
    ckpt = out / "cskd" / "seed2" / "last.safetensors"
    before = ckpt.read_bytes()
    experiment.main(args)
    assert ckpt.read_bytes() == before and (out / "results.md").read_text() == table


def test_presets_give_the_twin_cskds_configuration():
    """`--preset` reads cskd's own list: each preset the twin can train resolves to the configuration
    cskd resolves it to (`cskd presets --json`), field by field."""
    from conftest import cskd_json
    from cskd_torch import presets
    from cskd_torch import train as twin_train
    resolved = {p["key"]: p for p in cskd_json("presets", "--json")}
    checked = 0
    for key, p in resolved.items():
        methods, fields = presets.load(key)
        assert methods == p["methods"]
        if not set(methods) <= {"ce", "cskd", "ls"}:
            continue
        a = twin_train.parse_args([*presets.flags(fields), "--data", "x", "--out", "y", "--method", methods[0]])
        _, _, config, _, _ = twin_train.start(a)
        for k in set(presets.FLAGS) - {"method", "seed"}:
            assert config[k] == p["config"][k], f"{key}: {k}"
        assert config["augment"] == p["config"]["augment"]
        checked += 1
    assert checked >= 3  # quick, software, paper
    with pytest.raises(SystemExit, match="not a preset"):
        presets.load("papr")

"""Continue (or start) a cskd run on PyTorch with DistributedDataParallel, same recipe as cskd:
CS-KD pairs, SGD momentum 0.9 (Nesterov with --nesterov) + weight decay, step/cosine schedule, random crop +
flip, the paper's normalisation. Writes cskd-format checkpoints (rank 0, atomically) that
`cskd eval` and the web page open.

    torchrun --nproc_per_node 2 python/train.py --init best.safetensors --data cifar-10-binary.tar.gz \\
             --epochs 30 --lr 0.1 --out runs/cluster

gloo on CPU, nccl on GPUs. Without torchrun it runs as one process."""

import argparse
import json
import math
import os
import sys
import time

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP

from . import checkpoint, data, metrics, rng
from .models import DEFAULT_WIDTH, build_model
from .sampler import ClassPairSampler
from .step import sgd, train_step

# Flags that override the init checkpoint's training configuration (cskd's TrainConfig names).
OVERRIDES = {"method": "method", "temperature": "temperature", "lambda_": "lambda",
             "smoothing": "smoothing", "lr": "lr", "momentum": "momentum", "nesterov": "nesterov",
             "weight_decay": "weightDecay", "batch": "batch", "epochs": "epochs",
             "schedule": "schedule", "seed": "seed", "per_class": "perClass",
             "test_per_class": "testPerClass"}


def parse_args(argv):
    p = argparse.ArgumentParser(prog="cskd_torch.train", description=__doc__.split("\n\n")[0])
    p.add_argument("--init", help="cskd checkpoint to start from (weights and running statistics; fresh momentum)")
    p.add_argument("--data", default=os.environ.get("CSKD_DATA"), help="CIFAR binary .tar.gz, folder or .bin (default $CSKD_DATA)")
    p.add_argument("--out", required=True, help="output folder: last.safetensors, best.safetensors, metrics.jsonl")
    p.add_argument("--model", choices=sorted(DEFAULT_WIDTH), help="without --init (default smallcnn)")
    p.add_argument("--width", type=int, help="without --init (0 = the model's default)")
    p.add_argument("--method", choices=["ce", "cskd", "ls"])
    p.add_argument("--temperature", type=float)
    p.add_argument("--lambda", dest="lambda_", type=float)
    p.add_argument("--smoothing", type=float)
    p.add_argument("--lr", type=float)
    p.add_argument("--momentum", type=float)
    p.add_argument("--nesterov", action="store_true", default=None, help="Nesterov momentum (PS-KD's recipe)")
    p.add_argument("--weight-decay", type=float)
    p.add_argument("--batch", type=int, help="anchors per step over all processes")
    p.add_argument("--epochs", type=int)
    p.add_argument("--schedule", choices=["step", "cosine"])
    p.add_argument("--seed", type=int)
    p.add_argument("--per-class", type=int, help="training images per class, as cskd picks them (0 = all)")
    p.add_argument("--test-per-class", type=int, help="test images per class (0 = all)")
    p.add_argument("--no-augment", action="store_true")
    p.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (smoke tests)")
    p.add_argument("--workers", type=int, default=2, help="DataLoader workers per process")
    a = p.parse_args(argv)
    if not a.data:
        p.error("no data: pass --data PATH or set CSKD_DATA")
    return a


def lr_at(config, epoch):
    """cskd's schedules (src/train/config.rs): /10 after 50% and 75% of the epochs, or cosine."""
    e = epoch / config["epochs"]
    if config["schedule"] == "cosine":
        return config["lr"] * 0.5 * (1.0 + math.cos(math.pi * e))
    return config["lr"] * 0.1 ** ((e >= 0.5) + (e >= 0.75))


def setup_distributed():
    """(rank, world, device): gloo on CPU, nccl with CUDA; one process without torchrun."""
    if "RANK" not in os.environ:
        return 0, 1, torch.device("cuda" if torch.cuda.is_available() else "cpu")
    cuda = torch.cuda.is_available()
    dist.init_process_group("nccl" if cuda else "gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    if cuda:
        local = int(os.environ.get("LOCAL_RANK", 0))
        torch.cuda.set_device(local)
        return rank, world, torch.device("cuda", local)
    return rank, world, torch.device("cpu")


def start(a):
    """The model, its metadata, the training configuration and the class names to start from."""
    if a.init:
        ck = checkpoint.read(a.init)
        model, meta, config, classes = ck.build(), ck.model, dict(ck.config), ck.classes
        if a.model and a.model != meta["name"]:
            raise SystemExit(f"error: --model {a.model} but {a.init} holds {meta['name']}")
        tracked = max([int(v) for k, v in ck.tensors.items() if k.endswith("num_batches_tracked")] or [0])
    else:
        name = a.model or "smallcnn"
        meta = {"name": name, "width": a.width or DEFAULT_WIDTH[name], "classes": 0}
        config, classes, model, tracked = dict(checkpoint.CONFIG_DEFAULTS, model=name), [], None, 0
    for flag, key in OVERRIDES.items():
        if getattr(a, flag) is not None:
            config[key] = getattr(a, flag)
    config["width"], config["model"] = meta["width"], meta["name"]
    if a.no_augment:
        config["augment"] = False
    validate(config)
    return model, meta, config, classes, tracked


def validate(config):
    """The ranges cskd's TrainConfig::validate accepts, so the checkpoint's config stays valid there."""
    checks = [("lr", config["lr"] > 0, "> 0"), ("momentum", 0 <= config["momentum"] < 1, "in [0, 1)"),
              ("weightDecay", config["weightDecay"] >= 0, ">= 0"),
              ("temperature", config["temperature"] > 0, "> 0"), ("lambda", config["lambda"] >= 0, ">= 0"),
              ("smoothing", 0 <= config["smoothing"] < 1, "in [0, 1)"),
              ("batch", 1 <= config["batch"] <= 4096, "in 1..=4096"), ("epochs", config["epochs"] >= 1, ">= 1"),
              ("perClass", config["perClass"] >= 0, ">= 0"), ("testPerClass", config["testPerClass"] >= 0, ">= 0")]
    for name, ok, want in checks:
        if not ok or (isinstance(config[name], float) and not math.isfinite(config[name])):
            raise ValueError(f"{name} = {config[name]} is invalid: expected {want}")
    unsupported = [f"{k} = {config[k]}" for k, off in (("mix", "none"), ("kdLambda", 0.0))
                   if config.get(k, off) != off]
    if config["method"] not in ("ce", "cskd", "ls"):
        unsupported.append(f"method = {config['method']}")
    if unsupported:
        raise ValueError(f"the PyTorch twin trains ce, cskd and ls without mixing or KD, not {', '.join(unsupported)}; "
                         "continue this run with cskd")
    # With a per-class subset cskd holds the calibration images out of the *unused* images, so the
    # twin trains on the same images; on the whole data set the twin trains on everything.
    if not config["perClass"]:
        config["calibrationFraction"] = 0.0


def main(argv=None):
    a = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        run(a)
    except (ValueError, OSError) as e:  # bad files and settings: one line, no trace
        raise SystemExit(f"error: {e}")
    except FloatingPointError as e:
        raise SystemExit(f"error: {e}; training stopped, {a.out}/last.safetensors holds the last finished epoch")


def run(a):
    rank, world, device = setup_distributed()
    model, meta, config, classes, tracked = start(a)
    torch.manual_seed(config["seed"] * 1000 + rank)  # augmentation draws, per rank
    kind, train, test, names = data.load(a.data)
    k = 10 if kind == "cifar10" else 100
    if model is None:
        meta["classes"] = k
        model = build_model(meta["name"], meta["width"], k)
    elif meta["classes"] != k:
        raise SystemExit(f"error: the checkpoint has {meta['classes']} classes, the data {k}")
    classes = classes or names
    if config["perClass"]:
        idx = rng.balanced_subset(train.labels.tolist(), config["perClass"], k, config["seed"])
        train = data.Split(train.images[idx], train.labels[idx])
    if config["testPerClass"]:
        idx = rng.balanced_subset(test.labels.tolist(), config["testPerClass"], k, config["seed"] ^ 0x7E57)
        test = data.Split(test.images[idx], test.labels[idx])
    if config["batch"] % world:
        raise SystemExit(f"error: --batch {config['batch']} is not a multiple of the {world} processes")

    model.to(device)
    net = DDP(model, device_ids=[device.index] if device.type == "cuda" else None) if world > 1 else model
    optimizer = sgd(model, config)
    sampler = ClassPairSampler(train.labels, world, rank, seed=config["seed"])
    loader = torch.utils.data.DataLoader(
        data.PairDataset(train, config["augment"]), batch_size=config["batch"] // world,
        sampler=sampler, num_workers=a.workers, persistent_workers=a.workers > 0)
    per_step = 2 if config["method"] == "cskd" else 1
    history, best, steps = [], math.inf, 0
    if rank == 0:
        os.makedirs(a.out, exist_ok=True)
        print(f"{meta['name']} width {meta['width']} {config['method']} on {kind} "
              f"({len(train)} train / {len(test)} test), {world} process(es) on {device}", flush=True)
    for epoch in range(config["epochs"]):
        lr = lr_at(config, epoch)
        for g in optimizer.param_groups:
            g["lr"] = lr
        sampler.set_epoch(epoch)
        sums, t0 = torch.zeros(4, dtype=torch.float64), time.time()
        for xa, xp, y in loader:
            xa, xp, y = xa.to(device), xp.to(device), y.to(device)
            parts = train_step(net, optimizer, xa, y, xp if config["method"] == "cskd" else None, config)
            sums += torch.tensor([*parts, 1.0], dtype=torch.float64)
            steps += 1
            if a.max_steps and steps >= a.max_steps:
                break
        seconds = time.time() - t0
        if world > 1:  # on the backend's device: nccl reduces only CUDA tensors
            reduced = sums.to(device)
            dist.all_reduce(reduced)
            sums = reduced.cpu()
        n = max(sums[3].item(), 1.0)
        record = {"epoch": epoch + 1, "lr": lr, "trainLoss": sums[0].item() / n,
                  "trainCe": sums[1].item() / n, "trainKl": sums[2].item() / n, "seconds": seconds,
                  "imagesPerSec": sums[3].item() * (config["batch"] // world) * per_step / max(seconds, 1e-9),
                  "test": evaluate(model, test, device) if rank == 0 else None}
        history.append(record)
        done = epoch + 1 == config["epochs"] or (a.max_steps and steps >= a.max_steps)
        if rank == 0:
            t = record["test"]
            print(json.dumps({k2: record[k2] for k2 in ("epoch", "lr", "trainLoss")} |
                             {"top1Error": t["top1Error"], "ece": t["ece"]}), flush=True)
            seeds = rng.train_seeds(config["seed"])
            state = {"epoch": epoch + 1, "stepInEpoch": 0, "epochRng": seeds[0], "augRng": seeds[1],
                     "stepsDone": steps, "bnBatchesBefore": tracked}
            blob = checkpoint.encode(model, checkpoint.momentum_buffers(model, optimizer), meta,
                                     config, state, history, classes)
            checkpoint.write(os.path.join(a.out, "last.safetensors"), blob)
            if t["top1Error"] < best:
                best = t["top1Error"]
                checkpoint.write(os.path.join(a.out, "best.safetensors"), blob)
            lines = "".join(json.dumps(r) + "\n" for r in history)
            checkpoint.write(os.path.join(a.out, "metrics.jsonl"), lines.encode())
        if done:
            break
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()


@torch.no_grad()
def evaluate(model, split, device, chunk=500):
    model.eval()
    probs, feats = [], []
    for s in range(0, len(split), chunk):
        x = data.normalise(split.images[s:s + chunk]).to(device)
        f = model.penultimate(x)
        head = model.fc if hasattr(model, "fc") else model.linear
        probs.append(torch.softmax(head(f), 1).cpu())
        feats.append(f.cpu())
    model.train()
    return metrics.evaluate(torch.cat(probs), torch.as_tensor(split.labels), torch.cat(feats))


if __name__ == "__main__":
    main()

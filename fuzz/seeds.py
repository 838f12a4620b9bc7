#!/usr/bin/env python3
"""Writes the small seed corpus of the fuzz targets into fuzz/corpus/<target>/ (committed; the
fuzzer's own finds go to fuzz/target/corpus/). Usage: python3 fuzz/seeds.py [CHECKPOINT]
(CHECKPOINT: a small .safetensors from `cskd train`, used as a checkpoint seed)."""
import gzip, io, json, os, struct, sys, tarfile

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
IMG = 3072


def put(target, name, data):
    d = os.path.join(root, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def records(kind, labels):
    out = b""
    for i, l in enumerate(labels):
        head = bytes([l % 20, l]) if kind == 100 else bytes([l])
        out += head + bytes([(i * 37 + j // 1024) % 256 for j in range(0, IMG, 1024)]) * 1024
    return out


def names(n, prefix):
    return "".join(f"{prefix}{i}\n" for i in range(n)).encode()


def archive(kind):
    files = {}
    if kind == 10:
        d = "cifar-10-batches-bin"
        for b in range(1, 6):
            files[f"data_batch_{b}.bin"] = records(10, [b % 10])
        files["test_batch.bin"] = records(10, [3, 7])
        files["batches.meta.txt"] = names(10, "c")
    else:
        d = "cifar-100-binary"
        files["train.bin"] = records(100, [1, 99, 42])
        files["test.bin"] = records(100, [5])
        files["fine_label_names.txt"] = names(100, "f")
        files["coarse_label_names.txt"] = names(20, "s")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        for n, data in files.items():
            info = tarfile.TarInfo(f"{d}/{n}")
            info.size, info.mtime = len(data), 0
            t.addfile(info, io.BytesIO(data))
    return gzip.compress(buf.getvalue(), 9, mtime=0)


a10, a100 = archive(10), archive(100)
put("archive", "cifar10.tar.gz", a10)
put("archive", "cifar100.tar.gz", a100)
put("archive", "cut-off.tar.gz", a10[: len(a10) // 2])
put("archive", "not-gzip.tar", b"ustar" * 20)

put("bin", "c10-none", b"\x00" + records(10, [1, 2, 3]))
put("bin", "c10-hint", b"\x01" + records(10, [9]))
put("bin", "c100-hint", b"\x02" + records(100, [4, 77]))
put("bin", "bad-label", b"\x00" + records(10, [200]))

# dir entries: [sel, len, bytes]; 16 = in the layout folder, 64 = expand, 128 = CIFAR-100 folder.
e = lambda sel, body: bytes([sel, len(body)]) + bytes(body)
c10 = b"".join(e(16 | 64 | i, [i, 3]) for i in range(6)) + e(16 | 64 | 6, list(range(10)))
put("dir", "cifar10", c10)
c100 = (e(128 | 16 | 64 | 7, [1, 2]) + e(128 | 16 | 64 | 8, [3]) + e(128 | 16 | 64 | 9, [0] * 100)
        + e(128 | 16 | 64 | 10, [0] * 20))
put("dir", "cifar100", c100)
put("dir", "loose-top", e(64 | 12, [1, 2, 3]) + e(64 | 6, list(range(10))))
put("dir", "dir-in-place", e(16 | 32 | 0, []) + c10[2 + 2:])


def safetensors(meta, tensors=None):
    header = {"__metadata__": meta}
    data = b""
    for n, vals in (tensors or {}).items():
        header[n] = {"dtype": "F32", "shape": [len(vals)],
                     "data_offsets": [len(data), len(data) + 4 * len(vals)]}
        data += struct.pack(f"<{len(vals)}f", *vals)
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + data


config = {"model": "smallcnn", "width": 4, "method": "cskd", "temperature": 4.0, "lambda": 1.0,
          "smoothing": 0.1, "lr": 0.1, "momentum": 0.9, "weightDecay": 0.0001, "batch": 4,
          "epochs": 1, "schedule": "step", "seed": 0, "augment": True, "perClass": 4,
          "testPerClass": 2}
meta = {"format": "cskd-1", "model": json.dumps({"name": "smallcnn", "width": 4, "classes": 10}),
        "config": json.dumps(config),
        "state": json.dumps({"epoch": 1, "stepInEpoch": 0, "epochRng": 1, "augRng": 2,
                             "stepsDone": 1, "bnBatchesBefore": 0}),
        "history": "[]", "classes": json.dumps([f"c{i}" for i in range(10)])}
put("checkpoint", "meta-only", safetensors(meta, {"fc.bias": [0.0] * 10}))
put("checkpoint", "no-meta", safetensors({}, {"w": [1.0]})[:])
put("checkpoint", "resnet", safetensors({**meta, "model": json.dumps(
    {"name": "resnet18", "width": 64, "classes": 100})}))
if len(sys.argv) > 1:
    put("checkpoint", "real-smallcnn-w4", open(sys.argv[1], "rb").read())

put("config", "full", json.dumps(config).encode())
put("config", "partial", b'{"method":"ce","lr":0.05,"epochs":3}')
put("config", "empty", b"{}")
put("config", "misspelt", b'{"learningRate":0.01}')
put("config", "ls", b'{"method":"ls","smoothing":0.2,"schedule":"cosine","width":16,"model":"resnet10"}')


def state_dicts(checkpoint):
    """state_dict seeds from a real checkpoint: its model tensors as a plain file, with a
    DistributedDataParallel prefix, and with a NaN and a negative variance."""
    n = struct.unpack("<Q", checkpoint[:8])[0]
    header = json.loads(checkpoint[8:8 + n])
    body = checkpoint[8 + n:]
    tensors = {k: v for k, v in header.items() if k != "__metadata__" and not k.startswith("_")}

    def write(rename=lambda k: k, patch=None):
        out_header, data = {}, b""
        for k, v in sorted(tensors.items()):
            start, end = v["data_offsets"]
            raw = bytearray(body[start:end])
            if patch and k == patch[0]:
                raw[0:4] = struct.pack("<f", patch[1])
            out_header[rename(k)] = {"dtype": v["dtype"], "shape": v["shape"],
                                     "data_offsets": [len(data), len(data) + len(raw)]}
            data += bytes(raw)
        h = json.dumps(out_header).encode()
        return struct.pack("<Q", len(h)) + h + data

    put("state_dict", "real-smallcnn-w4", checkpoint)
    put("state_dict", "plain-smallcnn-w4", write())
    put("state_dict", "ddp-prefix", write(lambda k: "module." + k))
    put("state_dict", "nan-weight", write(patch=("features.0.weight", float("nan"))))
    put("state_dict", "negative-var", write(patch=("features.1.running_var", -1.0)))


ckpt_seed = os.path.join(root, "checkpoint", "real-smallcnn-w4")
if len(sys.argv) > 1:
    ckpt_seed = sys.argv[1]
if os.path.exists(ckpt_seed):
    state_dicts(open(ckpt_seed, "rb").read())

put("grid", "ce-cskd", b"ce,cskd\n1,2,3")
put("grid", "mixed-kd", b"cskd+mixup,kd+cutmix,pskd\n7")
put("grid", "repeats", b"ce,ce\n1,1")
put("grid", "bad-method", b"resnet\n1")

"""CIFAR-10/100 in the official binary layout (the .tar.gz as downloaded, its extracted folder, or a
loose .bin file), the paper's augmentation and normalisation. Images stay uint8 CHW until a
sample is drawn, as in cskd (src/data/)."""

import os
import tarfile

import numpy as np
import torch

MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2023, 0.1994, 0.2010)
PAD = 4

LAYOUTS = {
    "cifar10": dict(dir="cifar-10-batches-bin", label_bytes=1, names="batches.meta.txt",
                    train=[f"data_batch_{i}.bin" for i in range(1, 6)], test="test_batch.bin"),
    "cifar100": dict(dir="cifar-100-binary", label_bytes=2, names="fine_label_names.txt",
                     train=["train.bin"], test="test.bin"),
}


class Split:
    """`images` (N, 3, 32, 32) uint8, `labels` (N,) int64."""

    def __init__(self, images, labels):
        self.images, self.labels = images, labels

    def __len__(self):
        return len(self.labels)


def parse_records(raw, kind, name):
    lb = LAYOUTS[kind]["label_bytes"]
    rec = lb + 3072
    if len(raw) == 0 or len(raw) % rec:
        raise ValueError(f"{name}: {len(raw)} bytes is not a whole number of {rec}-byte records")
    a = np.frombuffer(raw, np.uint8).reshape(-1, rec)
    labels = a[:, lb - 1].astype(np.int64)  # CIFAR-100: (coarse, fine), the fine label is last
    k = 10 if kind == "cifar10" else 100
    if labels.max() >= k:
        raise ValueError(f"{name}: label {labels.max()} out of range for {kind}")
    return Split(a[:, lb:].reshape(-1, 3, 32, 32).copy(), labels)


def _files(path):
    """{member name: bytes} of the files under the layout folder, and the layout's kind."""
    if os.path.isdir(path):
        for kind, l in LAYOUTS.items():
            for d in (os.path.join(path, l["dir"]), path):
                if os.path.exists(os.path.join(d, l["test"])):
                    return kind, lambda f, d=d: open(os.path.join(d, f), "rb").read()
        raise ValueError(f"{path}: no CIFAR binary layout (cifar-10-batches-bin/ or cifar-100-binary/)")
    if not tarfile.is_tarfile(path):
        raise ValueError(f"{path}: not a tar archive (expected the official .tar.gz)")
    with tarfile.open(path) as tar:
        members = {m.name.lstrip("./"): m for m in tar.getmembers() if m.isfile()}
        for kind, l in LAYOUTS.items():
            if f"{l['dir']}/{l['test']}" in members:
                blobs = {n.split("/", 1)[1]: tar.extractfile(m).read()
                         for n, m in members.items() if n.startswith(l["dir"] + "/")}
                def get(f, blobs=blobs, l=l):
                    if f not in blobs:
                        raise ValueError(f"{path}: archive member {l['dir']}/{f} is missing")
                    return blobs[f]
                return kind, get
    raise ValueError(f"{path}: no CIFAR binary layout inside the archive")


def load(path):
    """Returns (kind, train Split, test Split, class names)."""
    kind, get = _files(str(path))
    l = LAYOUTS[kind]
    parts = [parse_records(get(f), kind, f) for f in l["train"]]
    train = Split(np.concatenate([p.images for p in parts]), np.concatenate([p.labels for p in parts]))
    test = parse_records(get(l["test"]), kind, l["test"])
    names = [n for n in get(l["names"]).decode().splitlines() if n.strip()]
    return kind, train, test, names


def normalise(images):
    """uint8 (N, 3, 32, 32) -> float32, the paper's mean/std."""
    x = torch.as_tensor(images).float().div_(255.0)
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    return (x - mean) / std


def augment(image, gen=None):
    """Random crop 32 with 4-pixel zero padding + horizontal flip of one uint8 (3, 32, 32) image."""
    padded = np.zeros((3, 32 + 2 * PAD, 32 + 2 * PAD), np.uint8)
    padded[:, PAD:PAD + 32, PAD:PAD + 32] = image
    dy, dx = (int(v) for v in torch.randint(0, 2 * PAD + 1, (2,), generator=gen))
    out = padded[:, dy:dy + 32, dx:dx + 32]
    if torch.rand((), generator=gen).item() < 0.5:
        out = out[:, :, ::-1]
    return out


class PairDataset(torch.utils.data.Dataset):
    """Indexed by (anchor, partner) pairs (see sampler.ClassPairSampler): returns the normalised
    anchor and partner images, each with its own augmentation, and the anchor's label. Draws come
    from torch's global generator, which DataLoader reseeds in every worker each epoch."""

    def __init__(self, split, train_augment=True):
        self.split, self.train_augment = split, train_augment

    def _image(self, i):
        img = self.split.images[i]
        if self.train_augment:
            img = augment(img)
        return normalise(np.ascontiguousarray(img)[None])[0]

    def __len__(self):
        return len(self.split)

    def __getitem__(self, pair):
        a, p = pair
        return self._image(a), self._image(p), int(self.split.labels[a])

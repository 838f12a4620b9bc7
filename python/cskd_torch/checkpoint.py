"""cskd checkpoints (src/train/checkpoint.rs): safetensors with the model's state_dict under
PyTorch names (num_batches_tracked int64), SGD momentum buffers as `_momentum.<name>`, and JSON
strings as metadata: `format`, `model` {name, width, classes}, `config` (TrainConfig, camelCase),
`state` (TrainState), `history` (EpochRecord list) and `classes`."""

import json
import os
import tempfile

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save

from .models import build_model

MOMENTUM = "_momentum."
FORMAT = "cskd-1"
# The fields of cskd's TrainConfig (it rejects unknown ones) and their defaults.
CONFIG_DEFAULTS = {
    "model": "smallcnn", "width": 0, "method": "cskd", "temperature": 4.0, "lambda": 1.0,
    "smoothing": 0.1, "lr": 0.1, "momentum": 0.9, "nesterov": False, "weightDecay": 1e-4, "batch": 128,
    "epochs": 30, "schedule": "step", "seed": 0, "augment": True, "perClass": 0, "testPerClass": 0,
    # Options the twin does not train (it refuses them) but keeps, so a config round-trips.
    "mix": "none", "mixAlpha": 1.0, "kdLambda": 0.0, "kdTemperature": 4.0, "pskdAlpha": 0.8,
    # The twin holds nothing out for temperature scaling (see train.validate).
    "calibrationFraction": 0.0,
    # How cskd stores activations (f32, or "mixed": f16); the twin computes in f32 and keeps it.
    "precision": "f32",
}


class Checkpoint:
    """What a cskd checkpoint holds: `tensors` (the model's state_dict), `momentum` (by parameter
    name), and the metadata `model`, `config`, `state`, `history`, `classes` (parsed JSON)."""

    def __init__(self, tensors, momentum, model, config=None, state=None, history=None, classes=None):
        self.tensors, self.momentum, self.model = tensors, momentum, model
        self.config = {**CONFIG_DEFAULTS, **(config or {})}
        self.state, self.history, self.classes = state, history or [], classes or []

    def build(self):
        """The model with these weights and running statistics."""
        m = build_model(self.model["name"], self.model["width"], self.model["classes"])
        try:
            m.load_state_dict(self.tensors)
        except RuntimeError as e:  # names or shapes do not match the model the metadata names
            raise ValueError(f"the tensors do not match {self.model}: {e}") from None
        return m


def read(path):
    """Reads a cskd checkpoint; a file that is not one is a ValueError naming it."""
    try:
        return _read(path)
    except (SafetensorError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: not a readable cskd checkpoint: {e}") from None


def _read(path):
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
        if "model" not in meta:
            raise ValueError(f"{path}: not a cskd checkpoint: metadata \"model\" is missing")
        tensors, momentum = {}, {}
        for k in f.keys():
            if k.startswith(MOMENTUM):
                momentum[k[len(MOMENTUM):]] = f.get_tensor(k)
            elif k.startswith("_"):  # other training state (PS-KD's predictions): not the model
                continue
            else:
                tensors[k] = f.get_tensor(k)
    get = lambda k: json.loads(meta[k]) if k in meta else None
    return Checkpoint(tensors, momentum, get("model"), get("config"), get("state"),
                      get("history"), get("classes"))


def momentum_buffers(model, optimizer):
    """{parameter name: momentum buffer} of a torch.optim.SGD over model.parameters()."""
    out = {}
    for name, p in model.named_parameters():
        buf = optimizer.state.get(p, {}).get("momentum_buffer")
        out[name] = torch.zeros_like(p) if buf is None else buf
    return out


def load_momentum(model, optimizer, momentum):
    """Puts checkpoint momentum buffers into a torch.optim.SGD (the next step continues them)."""
    for name, p in model.named_parameters():
        if name in momentum:
            optimizer.state[p]["momentum_buffer"] = momentum[name].clone().to(p.device)


def encode(model, momentum, model_meta, config, state, history, classes):
    """The bytes of a cskd checkpoint of `model` (an nn.Module, unwrapped from DDP)."""
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    for name, buf in momentum.items():
        tensors[MOMENTUM + name] = buf.detach().cpu().float().contiguous()
    config = {k: config[k] for k in CONFIG_DEFAULTS if k in config}
    meta = {
        "format": FORMAT,
        "model": json.dumps(model_meta),
        "config": json.dumps(config),
        "history": json.dumps(history),
        "classes": json.dumps(classes),
    }
    if state is not None:
        meta["state"] = json.dumps(state)
    return save(tensors, metadata=meta)


def write(path, data):
    """Writes atomically: a temporary file in the same folder, then a rename."""
    path = str(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".cskd-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise

"""The named configurations of `cskd --preset`, read from the crate's own list
(src/train/presets.json: one list for cskd, its page and this twin), as `cskd_torch.train` flags."""

import json
from pathlib import Path

from . import train

PATH = Path(__file__).resolve().parents[2] / "src" / "train" / "presets.json"
# presets.json field → train flag, for every field the twin trains with (the rest: see `flags`).
FLAGS = {key: "--" + attr.rstrip("_").replace("_", "-") for attr, key in train.OVERRIDES.items()}
FLAGS["width"], FLAGS["model"] = "--width", "--model"
# Fields the twin has no use for: it holds nothing out for temperature scaling, and mixing or
# PS-KD presets name methods it refuses anyway.
IGNORED = {"calibrationFraction", "mixAlpha", "pskdAlpha", "kdTemperature"}


def load(key):
    """(methods, fields) of preset `key`, its `extends` resolved as cskd resolves it."""
    if not PATH.exists():
        raise SystemExit(f"error: --preset needs the cskd repository's {PATH.relative_to(PATH.parents[2])} "
                         "beside this package; give the flags instead")
    entries = {e["key"]: e for e in json.loads(PATH.read_text())}
    if key not in entries:
        raise SystemExit(f"error: --preset {key!r} is not a preset: expected one of {', '.join(entries)}")
    e = entries[key]
    fields = {**entries[e["extends"]]["config"], **e.get("config", {})} if e.get("extends") else dict(e.get("config", {}))
    return e["methods"], fields


def flags(fields):
    """The train flags that set `fields` (an unknown field is an error, not silently dropped)."""
    out = []
    for k, v in fields.items():
        if k in IGNORED:
            continue
        if k == "augment":
            out += [] if v else ["--no-augment"]
        elif k == "nesterov":
            out += ["--nesterov"] if v else []
        elif k in FLAGS:
            out += [FLAGS[k], str(v)]
        else:
            raise SystemExit(f"error: preset field {k} has no cskd_torch.train flag")
    return out

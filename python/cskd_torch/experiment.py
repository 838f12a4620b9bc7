"""Methods x seeds on the PyTorch twin, as `cskd experiment` does: each run as
`python -m cskd_torch.train` into OUT/<method>/seed<N>/ (a finished run is skipped), then a mean ± sample
sd table of best and final top-1 error, final ECE, NLL and Recall@1 as Markdown (OUT/results.md, stdout)
and JSON (OUT/results.json). `--preset NAME` takes cskd's named configuration (its methods and
flags, from src/train/presets.json); every other flag is passed to each run unchanged, after it:

    python -m cskd_torch.experiment --preset paper --seeds 1,2,3 --out runs/twin -- --data cifar-10-binary.tar.gz

is the same as
    python -m cskd_torch.experiment --methods ce,cskd --seeds 1,2,3 --out runs/twin -- \\
        --data cifar-10-binary.tar.gz --per-class 100 --test-per-class 0 --width 32 --batch 128 \\
        --lr 0.1 --weight-decay 5e-4 --epochs 60

The twin trains ce, cskd and ls (no temperature scaling, mixing, KD or PS-KD)."""

import argparse
import json
import os
import statistics
import sys

from . import presets, train

COLUMNS = [("bestTop1Error", "best top-1 err %", True), ("finalTop1Error", "final top-1 err %", True),
           ("ece", "ECE %", True), ("nll", "NLL", False), ("recallAt1", "Recall@1 %", True)]


def unique(values, flag):
    out = []
    for v in values:
        if v in out:
            print(f"warning: {flag} lists {v} twice: it runs once", file=sys.stderr)
        else:
            out.append(v)
    return out


def run_result(method, seed, history):
    """One finished run's row: best and final top-1 error, and the final epoch's calibration."""
    tested = [r["test"] for r in history if r.get("test")]
    if not tested:
        raise SystemExit(f"error: {method} seed {seed}: no evaluated epoch")
    last = tested[-1]
    return {"method": method, "seed": seed, "epochs": len(history),
            "bestTop1Error": min(t["top1Error"] for t in tested), "finalTop1Error": last["top1Error"],
            "ece": last["ece"], "nll": last["nll"], "recallAt1": last.get("recallAt1")}


def summarise(methods, runs):
    """Markdown table and JSON summary, one row per method: mean ± sample sd over its seeds."""
    md = "| method | seeds | " + " | ".join(h for _, h, _ in COLUMNS) + " |\n"
    md += "|---|---|" + "---|" * len(COLUMNS) + "\n"
    summary = []
    for m in methods:
        mine = [r for r in runs if r["method"] == m]
        cells, stats = [], {}
        for key, _, percent in COLUMNS:
            vals = [r[key] for r in mine if r[key] is not None]
            if not vals:
                cells.append("–")
                continue
            mean = statistics.fmean(vals)
            sd = statistics.stdev(vals) if len(vals) > 1 else 0.0
            stats[key] = {"mean": mean, "std": sd, "n": len(vals)}
            cells.append(f"{100 * mean:.2f} ± {100 * sd:.2f}" if percent else f"{mean:.3f} ± {sd:.3f}")
        md += f"| {m} | {len(mine)} | " + " | ".join(cells) + " |\n"
        summary.append({"method": m, "seeds": [r["seed"] for r in mine], "metrics": stats})
    return md, {"summary": summary, "runs": runs}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    ours, rest = (argv[:argv.index("--")], argv[argv.index("--") + 1:]) if "--" in argv else (argv, [])
    p = argparse.ArgumentParser(prog="cskd_torch.experiment", description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", help="cskd's named configuration (`cskd presets`): its methods and flags")
    p.add_argument("--methods", help="comma-separated: ce, cskd, ls (default: the preset's, else ce,cskd)")
    p.add_argument("--seeds", default="1,2,3", help="comma-separated")
    p.add_argument("--out", required=True, help="OUT/<method>/seed<N>/ per run, OUT/results.md and .json")
    a = p.parse_args(ours)
    preset_methods, preset_fields = presets.load(a.preset) if a.preset else (["ce", "cskd"], {})
    rest = [*presets.flags(preset_fields), *rest]  # later flags win (argparse keeps the last)
    listed = a.methods.split(",") if a.methods else preset_methods
    methods = unique([m.strip() for m in listed if m.strip()], "--methods")
    try:
        seeds = unique([int(s) for s in a.seeds.split(",") if s.strip()], "--seeds")
    except ValueError:
        p.error(f"--seeds {a.seeds!r}: expected comma-separated integers")
    if bad := [m for m in methods if m not in ("ce", "cskd", "ls")]:
        p.error(f"--methods: {', '.join(bad)} not trained by the twin (ce, cskd, ls)")
    if any(f in rest for f in ("--method", "--seed", "--out")):
        p.error("--method, --seed and --out are the grid's: give --methods, --seeds and --out before --")
    runs = []
    for m in methods:
        for s in seeds:
            out = os.path.join(a.out, m, f"seed{s}")
            metrics = os.path.join(out, "metrics.jsonl")
            args = [*rest, "--method", m, "--seed", str(s), "--out", out]
            epochs = train.parse_args([*args]).epochs
            history = []
            if os.path.exists(metrics):
                history = [json.loads(l) for l in open(metrics) if l.strip()]
            if not history or (epochs and len(history) < epochs):
                train.main(args)
                history = [json.loads(l) for l in open(metrics) if l.strip()]
            runs.append(run_result(m, s, history))
    md, doc = summarise(methods, runs)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "results.md"), "w") as f:
        f.write(md)
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump(doc, f, indent=1)
    print(md, end="")


if __name__ == "__main__":
    main()

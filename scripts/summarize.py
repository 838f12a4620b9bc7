#!/usr/bin/env python3
"""Mean ± std over seeds of each method's runs in an experiment folder (runs named METHOD-seedS).

Top-1 error is the best over epochs (the paper's protocol, test split as validation); ECE, NLL and
Recall@1 are those of the final epoch."""
import json, pathlib, statistics, sys

root = pathlib.Path(sys.argv[1])
rows = {}
for run in sorted(root.glob("*-seed*")):
    epochs = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines() if l.strip()]
    if not epochs:
        continue
    last = epochs[-1]["test"]
    m = rows.setdefault(run.name.split("-seed")[0], {"top1": [], "final_top1": [], "ece": [], "nll": [], "r1": [], "ips": []})
    m["top1"].append(100 * min(e["test"]["top1Error"] for e in epochs))
    m["final_top1"].append(100 * last["top1Error"])
    m["ece"].append(100 * last["ece"])
    m["nll"].append(last["nll"])
    m["r1"].append(100 * (last.get("recallAt1") or 0))
    m["ips"].append(statistics.median(e["imagesPerSec"] for e in epochs))

def fmt(v, digits=2):
    sd = statistics.stdev(v) if len(v) > 1 else 0.0
    return f"{statistics.mean(v):.{digits}f} ± {sd:.{digits}f}"

print(f"| method | seeds | best top-1 err % | final top-1 err % | ECE % | NLL | Recall@1 % | train img/s |")
print("|---|---|---|---|---|---|---|---|")
for name, m in rows.items():
    print(f"| {name} | {len(m['top1'])} | {fmt(m['top1'])} | {fmt(m['final_top1'])} | {fmt(m['ece'])} | {fmt(m['nll'], 3)} | {fmt(m['r1'])} | {statistics.mean(m['ips']):.0f} |")

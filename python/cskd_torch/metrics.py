"""Test metrics in cskd's JSON shape (src/metrics/: camelCase keys), so the history of a PyTorch
run shows in `cskd` and on the page: top-1/top-5 error, NLL, ECE with its 15-bin reliability
diagram, Recall@1 on penultimate features (cosine), per-class accuracy and the confusion matrix."""

import math

import torch
import torch.nn.functional as F

BINS = 15


def recall_at_1(features, labels, chunk=1024):
    """Share of images whose nearest other image (cosine) has the same label."""
    n = len(labels)
    if n < 2:
        return None
    f = F.normalize(features.double(), dim=1)
    hits = 0
    for s in range(0, n, chunk):
        sim = f[s:s + chunk] @ f.T
        sim[torch.arange(sim.shape[0]), torch.arange(s, s + sim.shape[0])] = -math.inf
        hits += (labels[sim.argmax(1)] == labels[s:s + chunk]).sum().item()
    return hits / n


def evaluate(probs, labels, features=None):
    """`probs` (N, K), `labels` (N,) int64, `features` (N, D) or None -> cskd's Metrics dict."""
    n, k = probs.shape
    pred = probs.argmax(1)
    correct = pred == labels
    top5 = probs.topk(min(5, k), dim=1).indices.eq(labels[:, None]).any(1)
    p_true = probs.gather(1, labels[:, None]).squeeze(1).double()
    conf = probs.max(1).values
    bins = (conf * BINS).ceil().sub(1).clamp(0, BINS - 1).long()
    count = torch.bincount(bins, minlength=BINS)
    conf_sum = torch.zeros(BINS, dtype=torch.float64).index_add_(0, bins, conf.double())
    hit_sum = torch.zeros(BINS, dtype=torch.float64).index_add_(0, bins, correct.double())
    safe = count.clamp(min=1).double()
    bin_conf, bin_acc = conf_sum / safe, hit_sum / safe
    ece = ((count.double() / max(n, 1)) * (bin_acc - bin_conf).abs()).sum().item()
    confusion = torch.zeros(k, k, dtype=torch.int64)
    confusion.index_put_((labels, pred), torch.ones(n, dtype=torch.int64), accumulate=True)
    per_class = confusion.diag().double() / confusion.sum(1).clamp(min=1).double()
    return {
        "top1Error": 1.0 - correct.double().mean().item(),
        "top5Error": 1.0 - top5.double().mean().item(),
        "nll": (-p_true.clamp(min=1e-12).log()).mean().item(),
        "ece": ece,
        "recallAt1": None if features is None else recall_at_1(features, labels),
        "perClassAccuracy": per_class.tolist(),
        "confusion": confusion.tolist(),
        "reliability": {"binConfidence": bin_conf.tolist(), "binAccuracy": bin_acc.tolist(),
                        "binCount": count.tolist()},
        "superclassShare": None,
        "count": n,
    }

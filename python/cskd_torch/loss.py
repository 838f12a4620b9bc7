"""The CS-KD loss of docs/ALGORITHM.md and cskd's fused kernel (shaders/loss.wgsl):
L = CE(z_a, y) + lambda * T^2 * KL(q || p), p = softmax(z_a / T), q = softmax(z_p / T), means over
anchors. The partner logits are a fixed target (detached)."""

import torch
import torch.nn.functional as F


def cskd_loss(za, y, zp=None, temperature=4.0, lam=1.0, smoothing=0.0):
    """Returns (L, CE, T^2 * KL) as tensors; `zp = None` is plain CE or label smoothing."""
    ce = F.cross_entropy(za, y, label_smoothing=smoothing)
    if zp is None:
        return ce, ce.detach(), torch.zeros((), device=za.device)
    t = temperature
    log_p = F.log_softmax(za / t, dim=1)
    log_q = F.log_softmax(zp.detach() / t, dim=1)
    kl = F.kl_div(log_p, log_q, reduction="batchmean", log_target=True) * (t * t)
    return ce + lam * kl, ce.detach(), kl.detach()


def loss_for(config, za, y, zp=None):
    """The loss a cskd training configuration (method, temperature, lambda, smoothing) names."""
    method = config.get("method", "cskd")
    if method == "cskd":
        return cskd_loss(za, y, zp, config.get("temperature", 4.0), config.get("lambda", 1.0))
    if method == "ls":
        return cskd_loss(za, y, None, smoothing=config.get("smoothing", 0.1))
    if method == "ce":
        return cskd_loss(za, y, None)
    raise ValueError(f"unknown method {method!r}: expected ce, cskd or ls")

"""One training step as cskd records it (src/train/step.rs): anchors forward with gradients,
partners forward without them but in training mode (batch norm uses the partner half's own
statistics; both forwards update the running statistics, anchors first), the CS-KD loss, backward,
SGD with momentum 0.9 (Nesterov when the configuration says so) and weight decay on every parameter."""

import torch

from .loss import loss_for


def sgd(model, config, lr=None):
    """torch.optim.SGD with the configuration's momentum, Nesterov flag and weight decay (dampening 0)."""
    return torch.optim.SGD(model.parameters(), lr=config["lr"] if lr is None else lr,
                           momentum=config["momentum"], weight_decay=config["weightDecay"],
                           nesterov=bool(config.get("nesterov", False)))


def train_step(model, optimizer, xa, y, xp, config):
    """`model` may be wrapped in DistributedDataParallel: the partner forward then bypasses the
    wrapper (no gradient to reduce). `xp = None` is the CE / label-smoothing step. Returns the
    loss parts (L, CE, T^2*KL) as floats; a non-finite loss leaves the weights untouched."""
    model.train()
    za = model(xa)
    zp = None
    if xp is not None and config["method"] == "cskd":
        with torch.no_grad():
            zp = getattr(model, "module", model)(xp)
    loss, ce, kl = loss_for(config, za, y, zp)
    optimizer.zero_grad(set_to_none=True)
    if not torch.isfinite(loss):
        raise FloatingPointError(f"loss became {loss.item()}; the weights are those of the last good step")
    loss.backward()
    optimizer.step()
    return loss.item(), ce.item(), kl.item()

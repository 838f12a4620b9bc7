"""PyTorch twin of cskd: the same models, CS-KD pair sampler and loss, cskd checkpoint I/O and a
DistributedDataParallel trainer, so a run moves from the browser to a cluster and back."""

from .checkpoint import Checkpoint, read as read_checkpoint
from .loss import cskd_loss
from .models import PreActResNet, SmallCNN, build_model
from .sampler import ClassPairSampler

__all__ = ["Checkpoint", "ClassPairSampler", "PreActResNet", "SmallCNN", "build_model",
           "cskd_loss", "read_checkpoint"]

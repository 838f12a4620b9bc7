"""The class-wise pair sampler of CS-KD (docs/ALGORITHM.md, "Batches"), sharded like
torch.utils.data.DistributedSampler: every epoch all indices are shuffled with a generator seeded by
(seed, epoch), identically on every rank, padded to a multiple of the number of replicas and dealt
out rank::num_replicas; each anchor then gets a partner drawn uniformly from ALL training images of
its class (itself allowed), not only from the rank's shard. Yields (anchor, partner) pairs."""

import math

import torch
from torch.utils.data import Sampler


class ClassPairSampler(Sampler):
    def __init__(self, labels, num_replicas=1, rank=0, shuffle=True, seed=0, drop_last=False):
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank {rank} out of range for {num_replicas} replicas")
        self.labels = torch.as_tensor(labels, dtype=torch.int64)
        if len(self.labels) == 0:
            raise ValueError("no training images")
        self.members = {int(c): torch.nonzero(self.labels == c).flatten()
                        for c in torch.unique(self.labels)}
        self.num_replicas, self.rank = num_replicas, rank
        self.shuffle, self.seed, self.drop_last, self.epoch = shuffle, seed, drop_last, 0
        n = len(self.labels)
        self.num_samples = n // num_replicas if drop_last else math.ceil(n / num_replicas)

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __len__(self):
        return self.num_samples

    def anchors(self):
        """This rank's anchor indices for the current epoch."""
        n = len(self.labels)
        g = torch.Generator().manual_seed(self.seed + self.epoch)
        order = torch.randperm(n, generator=g) if self.shuffle else torch.arange(n)
        total = self.num_samples * self.num_replicas
        if total > n:  # pad by repeating from the start, as DistributedSampler does
            order = torch.cat([order, order.repeat(math.ceil(total / n))[: total - n]])
        return order[:total][self.rank::self.num_replicas]

    def __iter__(self):
        anchors = self.anchors()
        # Partners: a stream of this rank's own, so ranks draw independently.
        g = torch.Generator().manual_seed((self.seed + self.epoch) * 7919 + self.rank + 1)
        for a in anchors.tolist():
            members = self.members[int(self.labels[a])]
            p = members[torch.randint(len(members), (1,), generator=g)].item()
            yield a, p

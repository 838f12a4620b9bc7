"""cskd's SplitMix64 stream (src/rng.rs) and its class-balanced subset (src/data/subset.rs), so
`--per-class N --seed S` picks the same images here as in `cskd train` and on the page."""

MASK = (1 << 64) - 1


class Rng:
    def __init__(self, seed):
        self.state = seed & MASK

    def next_u64(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def below(self, n):
        return (self.next_u64() * n) >> 64

    def shuffle(self, v):
        for i in range(len(v) - 1, 0, -1):
            j = self.below(i + 1)
            v[i], v[j] = v[j], v[i]


def balanced_subset(labels, per_class, num_classes, seed):
    """Ascending indices of `per_class` images of each class, as cskd's Split::balanced_subset."""
    by_class = [[] for _ in range(num_classes)]
    for i, label in enumerate(labels):
        if label < num_classes:
            by_class[int(label)].append(i)
    rng, chosen = Rng(seed), []
    for members in by_class:
        rng.shuffle(members)
        chosen += members[:per_class]
    return sorted(chosen)


def train_seeds(seed):
    """The sampler and augmentation stream states cskd's trainer starts from (TrainState)."""
    return (seed * 0x9E3779B97F4A7C15 & MASK) ^ 0x5A17, seed ^ 0xA06

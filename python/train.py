"""`torchrun --nproc_per_node N python/train.py ...`: see cskd_torch/train.py."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cskd_torch.train import main  # noqa: E402

if __name__ == "__main__":
    main()

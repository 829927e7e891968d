#!/usr/bin/python3
"""Independent PyTorch reference for birealsim's trainer (cross-check test, test/train/torch.test.ts).

Reads JSON cases {workload, params, input, labels, smoothing, regime} (one file per argument) written by the test, builds the same
network from the birealsim IR in PyTorch (NCHW internally; weights given OHWI, FC inputs flattened in HWC
order), runs one training-mode forward (batch-statistics BN, momentum 0.1) and backward with
softmax cross-entropy (label smoothing), and prints a JSON array of {logits, loss, grads, running}, keyed by the
birealsim tensor names.

Regime 'binary' (Bi-Real Net, Liu et al. 2018): sign activations with the ApproxSign pseudo-gradient
(2 - 2|x| on |x| < 1), binary weights alpha * sign(W) with alpha = mean|W| per output channel (constant in
backward) and the magnitude-aware gradient alpha * g * 1{|W| < 1}. sign(0) = +1 in both.
Regime 'real': sign layers act as hardtanh, bconv layers as plain convs.
With `--bench N` it also times N further forward+backward passes (bench/train.ts).
Run with /usr/bin/python3 (Debian python3-torch).
"""
import json
import sys

import torch
import torch.nn.functional as F


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


class MagnitudeAwareBinary(torch.autograd.Function):
    @staticmethod
    def forward(ctx, w):
        alpha = w.abs().mean(dim=(1, 2, 3), keepdim=True)
        ctx.save_for_backward(w, alpha)
        return alpha * torch.where(w < 0, -torch.ones_like(w), torch.ones_like(w))

    @staticmethod
    def backward(ctx, g):
        w, alpha = ctx.saved_tensors
        return g * alpha * (w.abs() < 1).to(g.dtype)


def run_case(case, iters=0):
    torch.set_default_dtype(torch.float32)
    wl = case["workload"]
    regime = case["regime"]
    params = {}
    for name, v in case["params"].items():
        params[name] = torch.tensor(v["data"], dtype=torch.float32).reshape(v["shape"])
    inp = case["input"]
    x = torch.tensor(inp["data"], dtype=torch.float32).reshape(inp["n"], inp["h"], inp["w"], inp["c"]).permute(0, 3, 1, 2).contiguous()
    labels = torch.tensor(case["labels"], dtype=torch.long)

    leaf = {}

    def P(name, conv=False):
        if name not in leaf:
            t = params[name]
            if conv:
                t = t.permute(0, 3, 1, 2).contiguous()  # OHWI -> OIHW
            t.requires_grad_(name.endswith("running_mean") is False and name.endswith("running_var") is False)
            leaf[name] = t
        return leaf[name]

    def forward_backward():
        out = {"input": x}
        prev = "input"
        running = {}
        for l in wl["layers"]:
            lid, op = l["id"], l["op"]
            ins = l.get("inputs") or [l.get("in", prev)]
            a = out[ins[0]]
            if op in ("conv", "bconv"):
                w = P(lid + ".weight", conv=True)
                if op == "bconv" and regime == "binary":
                    w = MagnitudeAwareBinary.apply(w)
                pad = l["pad"]
                if op == "bconv" and l.get("padMode") == "one" and pad > 0:
                    a = F.pad(a, (pad, pad, pad, pad), value=1.0)
                    pad = 0
                b = P(lid + ".bias") if (op == "conv" and l.get("bias")) else None
                y = F.conv2d(a, w, b, stride=l["stride"], padding=pad)
            elif op == "sign":
                y = ApproxSign.apply(a) if regime == "binary" else F.hardtanh(a)
            elif op == "bn":
                rm = params[lid + ".running_mean"].clone()
                rv = params[lid + ".running_var"].clone()
                y = F.batch_norm(a, rm, rv, P(lid + ".gamma"), P(lid + ".beta"), training=True, momentum=0.1, eps=l["eps"])
                running[lid + ".running_mean"] = rm
                running[lid + ".running_var"] = rv
            elif op == "add":
                y = a + out[ins[1]]
            elif op == "avgpool":
                y = F.avg_pool2d(a, l["kernel"], l["stride"], l["pad"], count_include_pad=False)
            elif op == "maxpool":
                y = F.max_pool2d(a, l["kernel"], l["stride"], l["pad"])
            elif op == "gap":
                y = a.mean(dim=(2, 3), keepdim=True)
            elif op == "fc":
                flat = a.permute(0, 2, 3, 1).reshape(a.shape[0], -1)  # HWC order
                y = F.linear(flat, P(lid + ".weight"), P(lid + ".bias") if l.get("bias") else None)
                y = y.reshape(y.shape[0], -1, 1, 1)
            elif op == "relu":
                y = F.relu(a)
            elif op == "clip":
                y = F.hardtanh(a)
            else:
                raise SystemExit("unsupported op " + op)
            out[lid] = y
            prev = lid
        logits = out[wl.get("output", prev)].reshape(x.shape[0], -1)
        loss = F.cross_entropy(logits, labels, label_smoothing=case["smoothing"])
        loss.backward()
        return logits, loss, running

    import time
    logits, loss, running = forward_backward()
    seconds = []
    for _ in range(iters):
        for t in leaf.values():
            t.grad = None
        t0 = time.perf_counter()
        forward_backward()
        seconds.append(time.perf_counter() - t0)
    grads = {}
    for name, t in leaf.items():
        if t.grad is None:
            continue
        g = t.grad
        if g.dim() == 4:
            g = g.permute(0, 2, 3, 1)  # OIHW -> OHWI
        grads[name] = g.reshape(-1).tolist()
    return {
        "logits": logits.detach().reshape(-1).tolist(),
        "loss": loss.item(),
        "grads": grads,
        "running": {k: v.reshape(-1).tolist() for k, v in running.items()},
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "seconds_per_iter": seconds,
    }


def main():
    # one process for all cases (importing torch dominates the run time)
    args = sys.argv[1:]
    iters = 0
    if args and args[0] == "--bench":
        iters = int(args[1])
        args = args[2:]
    json.dump([run_case(json.load(open(f)), iters) for f in args], sys.stdout)


if __name__ == "__main__":
    main()

"""Full-precision ResNet-18 (He et al. 2016, torchvision layout, defined by hand so torchvision is not
needed) batch-1 224x224 fp32 inference latency in PyTorch. Prints one JSON line:
{"torch": version, "threads": n, "runs_ms": [...], "median_ms": m}.
Usage: OMP_NUM_THREADS=2 /usr/bin/python3 bench/resnet18_torch.py [runs] [warmup]
       ... resnet18_torch.py --serve : after warm-up prints {"ready": ...}, then for each stdin line "n"
       times n inferences and prints {"runs_ms": [...]} (lets bench/kernels.ts interleave with its own runs)."""
import json, sys, time
import torch
import torch.nn as nn


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        s = x if self.down is None else self.down(x)
        return self.relu(y + s)


class ResNet18(nn.Module):
    def __init__(self, classes=1000):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1))
        layers, cin = [], 64
        for i, ch in enumerate([64, 128, 256, 512]):
            for b in range(2):
                layers.append(BasicBlock(cin, ch, 2 if (i > 0 and b == 0) else 1))
                cin = ch
        self.layers = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.layers(self.stem(x))), 1))


def serve():
    torch.manual_seed(0)
    model = ResNet18().eval()
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        for _ in range(3):
            model(x)
        print(json.dumps({"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
        for line in sys.stdin:
            n = int(line.strip() or "0")
            if n <= 0:
                break
            times = []
            for _ in range(n):
                t0 = time.perf_counter()
                model(x)
                times.append((time.perf_counter() - t0) * 1000)
            print(json.dumps({"runs_ms": times}), flush=True)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        return serve()
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    warm = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    torch.manual_seed(0)
    model = ResNet18().eval()
    x = torch.randn(1, 3, 224, 224)
    times = []
    with torch.no_grad():
        for _ in range(warm):
            model(x)
        for _ in range(runs):
            t0 = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - t0) * 1000)
    s = sorted(times)
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "runs_ms": [round(t, 3) for t in times], "median_ms": s[len(s) // 2]}))


if __name__ == "__main__":
    main()

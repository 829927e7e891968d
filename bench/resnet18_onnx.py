"""Exports the hand-defined fp32 ResNet-18 of bench/resnet18_torch.py (torchvision layout, seed 0, eval mode)
to ONNX for the ONNX Runtime peer of `npm run bench` (bench/kernels.ts). Run once; the bench caches the file
under bench/.cache/ (gitignored) and re-exports only when it is missing.
Usage: /usr/bin/python3 bench/resnet18_onnx.py OUT.onnx  -> prints one JSON line {"torch": version, "out": path}"""
import json, os, sys
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from resnet18_torch import ResNet18  # noqa: E402


def main():
    out = sys.argv[1]
    torch.manual_seed(0)
    model = ResNet18().eval()
    x = torch.randn(1, 3, 224, 224)
    tmp = out + ".tmp"
    with torch.no_grad():
        torch.onnx.export(model, x, tmp, input_names=["input"], output_names=["logits"], opset_version=13, do_constant_folding=True)
    os.replace(tmp, out)
    print(json.dumps({"torch": torch.__version__, "out": out}))


if __name__ == "__main__":
    main()

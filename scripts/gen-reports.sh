#!/usr/bin/env bash
# Regenerates every checked-in report under reports/ (run: npm run reports). Deterministic: the same tool
# version gives the same bytes (no timestamps; simulation JSON has its wall-clock field pinned).
#   reports/paper-table/        cost model vs Liu et al. 2018 Table 5 (5 networks)
#   reports/bireal18-xnornet18-resnet18/  whole-network simulations, binary nets on an XNOR accelerator vs
#                               ResNet-18 on the matched fp32 MAC baseline (presets edge, baseline-mac)
#   reports/fusion-comparison.md  fusion/residency, batch and a dataflow design (scripts/fusion-report.ts)
#   reports/sweep-bireal18-edge/  1200-point design-space sweep of Bi-Real-18 with its Pareto front
#   reports/formats-mnist/      accuracy (golden model, MNIST test set) x cost (simulator, edge with the stream
#                               width) per real-valued stream format, for the trained MNIST model (skipped if absent)
#   reports/verify-mnist/       bit-exact verification of the trained MNIST model (golden, simulator, trainer, PyTorch)
#   reports/img/<report>/*.png  every chart as PNG (README images)
# The sweep file reports/sweeps/bireal18-edge.jsonl is resumed, not recomputed, when it is complete and its
# spec hash matches; SWEEP_RESTART=1 recomputes it (1200 points took 87 s on 2 busy cores).
set -euo pipefail
cd "$(dirname "$0")/.."
B="node bin/birealsim.mjs"

$B report paper-table --title "Memory and operations: birealsim's cost model beside Liu et al. 2018, Table 5" \
  --out reports/paper-table --png reports/img/paper-table

mkdir -p reports/sim
$B cost bireal18-imagenet xnornet18-imagenet resnet18-imagenet --json --out reports/sim/cost-18.json
# simulate --json records its own wall-clock run time (timingMs); pin it to 0 so regenerated inputs (and the
# input hashes the reports embed) are byte-identical
sim() {
  $B simulate "$1" --arch "$2" --json --out "$3"
  node -e 'const fs=require("fs"),f=process.argv[1],j=JSON.parse(fs.readFileSync(f,"utf8"));j.timingMs=0;fs.writeFileSync(f+".tmp",JSON.stringify(j,null,2)+"\n");fs.renameSync(f+".tmp",f)' "$3"
}
sim bireal18-imagenet edge reports/sim/bireal18-edge.json
sim xnornet18-imagenet edge reports/sim/xnornet18-edge.json
sim resnet18-imagenet baseline-mac reports/sim/resnet18-baseline-mac.json
# issue 14's comparison: fusion none/auto x batch 1/8 for three binary nets on edge/large, and a dataflow design
node bin/run-ts.mjs scripts/fusion-report.ts
# the FINN-style dataflow family (docs/arch.md): Bi-Real-18 folded for the preset's 1000 frames/s
$B simulate bireal18-imagenet --arch dataflow-bnn --markdown --out reports/dataflow-bireal18.md
$B report reports/sim/cost-18.json reports/sim/bireal18-edge.json reports/sim/xnornet18-edge.json \
  reports/sim/resnet18-baseline-mac.json \
  --title "Bi-Real-18 vs XNOR-Net-18 (XNOR accelerator) vs ResNet-18 (fp32 MAC baseline), same PE count, clock, SRAM and DRAM" \
  --out reports/bireal18-xnornet18-resnet18 --png reports/img/bireal18-xnornet18-resnet18

# a results file from another spec or base arch (e.g. after a preset changed) is recomputed, not mixed
if ! $B sweep reports/sweeps/bireal18-edge.spec.json --out reports/sweeps/bireal18-edge.jsonl ${SWEEP_RESTART:+--restart} 2>/tmp/birealsim-sweep.$$.err; then
  if grep -q E_SWEEP_RESUME /tmp/birealsim-sweep.$$.err; then
    cat /tmp/birealsim-sweep.$$.err >&2; echo "recomputing the sweep from scratch" >&2
    $B sweep reports/sweeps/bireal18-edge.spec.json --out reports/sweeps/bireal18-edge.jsonl --restart
  else
    cat /tmp/birealsim-sweep.$$.err >&2; rm -f /tmp/birealsim-sweep.$$.err; exit 1
  fi
fi
rm -f /tmp/birealsim-sweep.$$.err
# points are appended in completion order (depends on scheduling); rewrite them in index order so the file,
# and the input hash the report embeds, are the same bytes on every run
$B merge reports/sweeps/bireal18-edge.jsonl --out reports/sweeps/bireal18-edge.jsonl
$B report reports/sweeps/bireal18-edge.jsonl \
  --title "Design-space sweep: Bi-Real-18 on variants of the edge XNOR accelerator (1200 random points)" \
  --out reports/sweep-bireal18-edge --png reports/img/sweep-bireal18-edge

# real-stream formats on the trained MNIST model (reports/train/, written by `birealsim train`); the formats
# JSON holds no wall-clock field, so it is byte-identical on every run with the same model
MNIST_MODEL=${MNIST_MODEL:-}
# best trained MNIST run first
for m in reports/train/mnist-deep-pool10/model.safetensors reports/train/mnist-deep/model.safetensors reports/train/mnist-dp/model.safetensors reports/train/mnist-dp2/model.safetensors reports/train/mnist-final/model.safetensors reports/train/mnist-run2/model.safetensors reports/train/mnist/model.safetensors reports/train/mnist-binary/model.safetensors; do
  if [ -z "$MNIST_MODEL" ] && [ -f "$m" ]; then MNIST_MODEL=$m; fi
done
if [ -n "$MNIST_MODEL" ]; then
  $B formats "$MNIST_MODEL" --dataset mnist --arch edge --formats fp32,fp16,int16q8,int16q10,int8q4,int8q5 \
    --check-images 10 --json --out reports/formats-mnist.json
  $B report reports/formats-mnist.json \
    --title "Real-valued stream formats: MNIST accuracy (golden model) vs energy per frame (edge accelerator with the stream width)" \
    --out reports/formats-mnist --png
else
  echo "skipping reports/formats-mnist: no trained MNIST model (set MNIST_MODEL=<model.safetensors>)" >&2
fi

# bit-exact verification of the trained MNIST model's deployable export: golden vs functional simulator on
# edge, vs the latent model it was exported from, vs the trainer's float forward and PyTorch (1000 test images)
if [ -n "$MNIST_MODEL" ] && [ -f "$(dirname "$MNIST_MODEL")/deployable.safetensors" ]; then
  $B verify "$(dirname "$MNIST_MODEL")/deployable.safetensors" --reference "$MNIST_MODEL" --dataset mnist --images 1000 \
    --arch edge --torch --json --out reports/verify-mnist.json
  $B report reports/verify-mnist.json --title "Bit-exact verification of the trained MNIST Bi-Real model" --out reports/verify-mnist
else
  echo "skipping reports/verify-mnist: no exported MNIST model next to $MNIST_MODEL" >&2
fi

/**
 * Writes reports/sim-comparison.md: Bi-Real-18 vs XNOR-Net-18 vs ResNet-18 (ImageNet, 224x224) simulated
 * (timing only, mapper objective: cycles) on the presets edge, large and baseline-mac: latency, DRAM
 * traffic, energy per frame, and the dominant bottleneck of every layer. Deterministic: no wall-clock values.
 * Usage: node bin/run-ts.mjs scripts/sim-comparison.ts [out.md]
 */
import { writeFileAtomic } from '../src/core/atomic.ts';
import { BUILTIN_WORKLOADS } from '../src/ir/builders.ts';
import { resolveNetwork } from '../src/ir/validate.ts';
import { shapeOnlyModel } from '../src/ir/model.ts';
import { lower } from '../src/golden/plan.ts';
import { loadArch } from '../src/sim/arch.ts';
import { simulate, type SimResult } from '../src/sim/simulate.ts';
import { renderMarkdown, fmtInt, type Table } from '../src/report/table.ts';
import { TOOL_VERSION } from '../src/cli/io.ts';

const out = process.argv[2] ?? 'reports/sim-comparison.md';
const NETS = ['bireal18-imagenet', 'xnornet18-imagenet', 'resnet18-imagenet'];
const ARCHS = ['edge', 'large', 'baseline-mac'];
const sig = (x: number, d = 3) => (x === 0 ? '0' : Number(x.toPrecision(d)).toLocaleString('en-US', { maximumSignificantDigits: d }));
const pct = (a: number, b: number) => `${((100 * a) / b).toFixed(0)}%`;

const archs = ARCHS.map(loadArch);
const results = new Map<string, SimResult>();
for (const n of NETS) {
  const plan = lower(shapeOnlyModel(resolveNetwork(BUILTIN_WORKLOADS[n]())));
  for (const a of archs) results.set(`${n}|${a.name}`, simulate(plan, a));
}

const archTable: Table = {
  title: 'Architectures (resolved presets, arch/*.json)',
  headers: ['arch', 'clock [MHz]', 'PE array', 'PE op', 'real unit [MAC/cycle]', 'on-chip SRAM [KiB]', 'DRAM [GB/s]', 'DRAM latency [cycles]', 'DRAM energy [pJ/bit]'],
  rows: archs.map((a) => [a.name, a.clockHz / 1e6, `${a.peArray.rows}x${a.peArray.cols} ${a.peArray.dataflow.toUpperCase()}`,
    a.peArray.type === 'xnor' ? `${a.peArray.laneBits}-bit XNOR-popcount` : `${a.peArray.precision} MAC`,
    a.realUnit.onPeArray ? 'on the PE array' : `${a.realUnit.macsPerCycle} (${a.realUnit.precision})`,
    Object.values(a.buffers).reduce((s, b) => s + b.capacityBytes, 0) / 1024, a.dram.bandwidthBytesPerSecond / 1e9, a.dram.latencyCycles, a.dram.energyPerBit.joules * 1e12]),
};

const summary: Table = {
  title: 'Whole network, batch 1, layer by layer',
  headers: ['network', 'arch', 'latency [ms]', 'frames/s [1/s]', 'DRAM traffic [MB]', 'compulsory DRAM [MB]', 'energy/frame [mJ]', 'of which DRAM [%]', 'TOPS/W', 'effective TOPS',
    'compute / post-op / SRAM stall / DRAM stall / fill+drain [% of cycles]', 'layers by bottleneck'],
  rows: [],
};
for (const n of NETS) for (const a of archs) {
  const r = results.get(`${n}|${a.name}`)!;
  if (!r.totals) { summary.rows.push([n, a.name, 'infeasible', r.infeasible[0]?.reason ?? '', '', '', '', '', '', '', '', '']); continue; }
  const t = r.totals, c = t.cyclesSplit;
  const counts = new Map<string, number>();
  for (const l of r.layers) counts.set(l.bottleneck!, (counts.get(l.bottleneck!) ?? 0) + 1);
  summary.rows.push([n, a.name, sig(t.latencyMs), sig(t.framesPerSecond), sig(t.dramBytes / 1e6), sig(t.compulsoryDramBytes / 1e6), sig(t.energyPerFrameJ * 1e3),
    pct(t.energyJ.dram, t.energyPerFrameJ), sig(t.topsPerWatt), sig(t.effectiveTops),
    [c.compute, c.postOp, c.sramStall, c.dramStall, c.fillDrain].map((x) => pct(x, c.total)).join(' / '),
    [...counts].sort((x, y) => y[1] - x[1]).map(([k, v]) => `${k} ${v}`).join(', ')]);
}

const perLayer: Table[] = NETS.map((n) => {
  const rs = archs.map((a) => results.get(`${n}|${a.name}`)!);
  const ids = rs[0].layers.map((l) => l.id);
  return {
    title: `${n}: per layer, cycles and dominant bottleneck on each arch`,
    headers: ['layer', 'fused steps', 'executes on (edge / baseline-mac)', ...archs.map((a) => `${a.name} [kcycles, bottleneck]`), ...archs.map((a) => `${a.name} DRAM [KB]`)],
    rows: ids.map((id) => {
      const ls = rs.map((r) => r.layers.find((l) => l.id === id)!);
      return [id, ls[0].steps.length, `${ls[0].executesOn} / ${ls[2].executesOn}`,
        ...ls.map((l) => (l.feasible ? `${sig(l.cycles!.total / 1e3)} ${l.bottleneck}` : 'infeasible')),
        ...ls.map((l) => (l.feasible ? sig(l.dramBytesTotal! / 1e3) : '-'))];
    }),
  };
});

const lat = (n: string, a: string) => results.get(`${n}|${a}`)!.totals!.latencyMs;
const en = (n: string, a: string) => results.get(`${n}|${a}`)!.totals!.energyPerFrameJ;
const dr = (n: string, a: string) => results.get(`${n}|${a}`)!.totals!.dramBytes;
const findings = [
  `- On edge, Bi-Real-18 takes ${sig(lat('bireal18-imagenet', 'edge'))} ms and ${sig(en('bireal18-imagenet', 'edge') * 1e3)} mJ per frame; ResNet-18 on the fp32 baseline with the same PE count, clock, SRAM and DRAM takes ${sig(lat('resnet18-imagenet', 'baseline-mac'))} ms and ${sig(en('resnet18-imagenet', 'baseline-mac') * 1e3)} mJ (${sig(lat('resnet18-imagenet', 'baseline-mac') / lat('bireal18-imagenet', 'edge'))}x the latency, ${sig(en('resnet18-imagenet', 'baseline-mac') / en('bireal18-imagenet', 'edge'))}x the energy, ${sig(dr('resnet18-imagenet', 'baseline-mac') / dr('bireal18-imagenet', 'edge'))}x the DRAM traffic).`,
  `- XNOR-Net-18 vs Bi-Real-18 on edge: ${sig(lat('xnornet18-imagenet', 'edge') / lat('bireal18-imagenet', 'edge'))}x the latency and ${sig(en('xnornet18-imagenet', 'edge') / en('bireal18-imagenet', 'edge'))}x the energy (the same binary convs; XNOR-Net's K scaling streams the block input through the real-valued buffer, Bi-Real's per-conv shortcut streams the residual).`,
  `- Bi-Real-18 on baseline-mac (binary layers as fp32 MACs on +-1 values): ${sig(lat('bireal18-imagenet', 'baseline-mac'))} ms, i.e. ${sig(lat('bireal18-imagenet', 'baseline-mac') / lat('bireal18-imagenet', 'edge'))}x the latency of the XNOR array with the same PE count.`,
  `- On the binary archs the real-valued parts (stem conv on the real unit, real-valued tensors between layers) dominate: see the per-layer tables, where the stem conv and the DRAM-bound layers carry most cycles.`,
];

const md = [
  '# Simulated comparison: Bi-Real-18 vs XNOR-Net-18 vs ResNet-18',
  '',
  'Regenerate with:',
  '',
  '```',
  'node bin/run-ts.mjs scripts/sim-comparison.ts reports/sim-comparison.md',
  '```',
  '',
  `birealsim ${TOOL_VERSION}; timing-only simulation (sim/simulate.ts, analytic per tile; mapper objective: cycles); ImageNet 224x224, batch 1. ` +
    'Each network is the lowered ExecPlan the golden model runs (the functional mode of the same simulator reproduces the golden outputs bit for bit, test/sim/functional.test.ts). ' +
    'Layers run one after another and every tensor between layers goes through DRAM; element-wise post-ops (BN, residual add, sign, K scale, ReLU) are fused into the producing layer. ' +
    'Energy = action counts x the per-arch energy table (sources in arch/*.json and in `birealsim simulate` output). ' +
    'Single runs of `birealsim simulate <net> --arch <arch>` print the full per-layer tables and metric definitions.',
  '',
  renderMarkdown(archTable),
  renderMarkdown(summary),
  '## Findings (numbers computed from the tables above)',
  '',
  ...findings,
  '',
  '## Per-layer bottlenecks',
  '',
  'Bottleneck = the largest of compute, post-op, sram-bandwidth (SRAM port stall) and dram (DRAM stall + fill/drain) cycles of the layer.',
  '',
  ...perLayer.map(renderMarkdown),
  '## Definitions',
  '',
  ...Object.entries(results.values().next().value!.definitions).map(([k, v]) => `- **${k}**: ${v}`),
  '',
].join('\n');
writeFileAtomic(out, md);
process.stderr.write(`wrote ${out} (${fmtInt(md.length)} characters)\n`);

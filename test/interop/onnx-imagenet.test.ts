/**
 * Bi-Real-18 and ResNet-18 written in plain PyTorch (scripts/torch_imagenet_nets.py, Debian python3-torch),
 * exported by torch.onnx.export and imported by `birealsim import`, give exactly the built-in workloads' cost
 * numbers under every counting convention: totals and, op by op in network order, each step's counts. The
 * two definitions (PyTorch modules, ir/builders.ts) are independent, so this checks the import's mapping of
 * binary convs, shortcuts, pooling and the head against the structure the paper tables are computed from.
 * Skipped only outside CI when torch is not installed; in CI (CI=true) a missing torch fails.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONVENTIONS } from '../../src/cost/conventions.ts';
import { countPlan } from '../../src/cost/count.ts';
import { lower } from '../../src/golden/plan.ts';
import { BUILTIN_WORKLOADS } from '../../src/ir/builders.ts';
import { shapeOnlyModel } from '../../src/ir/model.ts';
import { resolveNetwork } from '../../src/ir/validate.ts';
import type { ResolvedNetwork } from '../../src/ir/types.ts';
import { importOnnx } from '../../src/interop/onnx-import.ts';
import { decodeOnnx } from '../../src/interop/onnx-proto.ts';

const PY = '/usr/bin/python3';
const haveTorch = spawnSync(PY, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
const run = haveTorch || process.env.CI ? it : it.skip;

let dir: string;
const imported = new Map<string, ResolvedNetwork>();
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'birealsim-onnx-imagenet-'));
  if (!haveTorch && !process.env.CI) return;
  const r = spawnSync(PY, ['scripts/torch_imagenet_nets.py', 'bireal18', join(dir, 'bireal18.onnx'), 'resnet18', join(dir, 'resnet18.onnx')], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } });
  if (r.status !== 0) throw new Error(`torch export failed: ${r.stderr}`);
  for (const n of ['bireal18', 'resnet18']) {
    const f = join(dir, `${n}.onnx`);
    imported.set(n, importOnnx(decodeOnnx(readFileSync(f), f), { file: f }).model.net);
  }
}, 120000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('PyTorch ImageNet nets imported from ONNX: exactly the built-in workloads\' cost numbers', () => {
  for (const [n, builtin] of [['bireal18', 'bireal18-imagenet'], ['resnet18', 'resnet18-imagenet']] as const) {
    run(`${n}: totals and per-step counts equal ${builtin}'s under every convention`, () => {
      const net = imported.get(n)!;
      const ref = resolveNetwork(BUILTIN_WORKLOADS[builtin]());
      expect(net.input).toEqual(ref.input);
      const ops = (x: ResolvedNetwork) => x.layers.map((l) => l.layer.op);
      expect(ops(net)).toEqual(ops(ref));
      for (const c of Object.values(CONVENTIONS)) {
        const a = countPlan(lower(shapeOnlyModel(net)), c), b = countPlan(lower(shapeOnlyModel(ref)), c);
        expect(a.totals).toEqual(b.totals);
        const strip = (l: (typeof a.layers)[number]) => ({ ...l, step: undefined, layers: l.layers.length });
        expect(a.layers.map(strip)).toEqual(b.layers.map(strip));
      }
    });
  }
});

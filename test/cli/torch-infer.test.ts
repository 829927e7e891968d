/**
 * `verify --torch`'s PyTorch reference (src/cli/torch_infer.py) on ReActNet's ops: a small ReActNet net
 * (RSign, RPReLU, binary convs, real shortcuts) with seeded random latent weights, run by PyTorch (Debian
 * python3-torch, an independent implementation of each op) and by the golden model on the deployable form.
 * Skipped only outside CI when torch is not installed; in CI (CI=true) a missing torch fails.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../src/core/rng.ts';
import { argmax, tensor } from '../../src/core/tensor.ts';
import { encodeModel, randomModel } from '../../src/ir/model.ts';
import { resolveNetwork } from '../../src/ir/validate.ts';
import { toDeployable } from '../../src/ir/deploy.ts';
import { lower } from '../../src/golden/plan.ts';
import { runPlan } from '../../src/golden/run.ts';
import { referenceKernels } from '../../src/kernels/index.ts';
import { variantWorkload } from '../../src/train/variants.ts';

const PY = '/usr/bin/python3';
const haveTorch = spawnSync(PY, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
const run = haveTorch || process.env.CI ? it : it.skip;

describe('torch_infer.py (verify --torch reference)', () => {
  run('computes ReActNet-tiny (RSign, RPReLU) as the golden model does: same predictions, logits within 1e-4 relative', () => {
    const net = resolveNetwork(variantWorkload('reactnet-tiny')!);
    expect(net.layers.some((l) => l.layer.op === 'rsign') && net.layers.some((l) => l.layer.op === 'rprelu')).toBe(true);
    const latent = randomModel(net, 3);
    const plan = lower(toDeployable(latent));
    const rng = new Rng(4), n = 6;
    const inputs = Array.from({ length: n }, () => { const t = tensor(28, 28, 1); rng.fillNormal(t.data); return t; });
    const dir = mkdtempSync(join(tmpdir(), 'birealsim-torch-infer-'));
    try {
      writeFileSync(join(dir, 'm.safetensors'), encodeModel(latent));
      const all = new Float32Array(n * 784);
      inputs.forEach((t, i) => all.set(t.data, i * 784));
      writeFileSync(join(dir, 'x.f32'), new Uint8Array(all.buffer));
      const r = spawnSync(PY, ['src/cli/torch_infer.py', join(dir, 'm.safetensors'), join(dir, 'x.f32'), String(n)], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } });
      expect(r.stderr).toBe('');
      const torchLogits = JSON.parse(r.stdout) as number[][];
      expect(torchLogits.length).toBe(n);
      for (let i = 0; i < n; i++) {
        const g = runPlan(plan, inputs[i], { kernels: referenceKernels }).logits;
        const t = torchLogits[i];
        expect(t.length).toBe(g.length);
        let maxRef = 0, maxDiff = 0;
        for (let k = 0; k < g.length; k++) { maxRef = Math.max(maxRef, Math.abs(t[k])); maxDiff = Math.max(maxDiff, Math.abs(g[k] - t[k])); }
        expect(maxDiff / maxRef).toBeLessThan(1e-4);
        expect(argmax(g)).toBe(argmax(t));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

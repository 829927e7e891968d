/**
 * Training-throughput benchmark: images/s of one forward+backward pass (no optimiser step, no data loading)
 * of the reference Bi-Real network `bireal-mnist-fast` (src/train/variants.ts) in the 1-bit regime
 * (ApproxSign, magnitude-aware binary weights, batch-statistics BN), batch 64. Ours is measured as
 * `birealsim train` runs by default: 2 data-parallel replicas (src/train/replicas.ts, one per core, each a
 * single-threaded WASM SIMD trainer on half the batch, gradients summed); also reported with 1 replica (the
 * large non-transposed products then split over all cores, kernels/batch-fast.ts useKernelGemm). The peer is the same network,
 * weights and batch in PyTorch (test/train/torch_ref.py --bench,
 * Debian python3-torch run by /usr/bin/python3 with OMP_NUM_THREADS=2). Median of the timed iterations.
 * Called by the lead's bench/run.ts; runnable alone: `node bin/run-ts.mjs bench/train.ts`.
 * The machine may be shared: both sides are measured back to back under the same conditions.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../src/core/rng.ts';
import { resolveNetwork } from '../src/ir/validate.ts';
import { initGemm, useKernelGemm } from '../src/kernels/batch-fast.ts';
import { Replicas } from '../src/train/replicas.ts';
import { BINARY_CONFIG, TrainNet } from '../src/train/net.ts';
import { softmaxCrossEntropy } from '../src/kernels/batch-ops.ts';
import { bt } from '../src/kernels/batch.ts';
import { variantWorkload } from '../src/train/variants.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const TORCH_SCRIPT = join(HERE, '..', 'test', 'train', 'torch_ref.py');

function median(xs: number[]): number { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; }

export interface TrainBench { ours_img_s: number; ours_1replica_img_s: number; torch_img_s: number | string; ratio: number | string; target: string; load_before: number; load_after: number }

export async function benchTraining(opts: { batch?: number; iters?: number; model?: string } = {}): Promise<TrainBench> {
  const batch = opts.batch ?? 64, iters = opts.iters ?? 9;
  const load_before = loadavg()[0];
  await initGemm();
  await useKernelGemm();
  const wl = variantWorkload(opts.model ?? 'bireal-mnist-fast')!;
  const net = resolveNetwork(wl);
  const t = new TrainNet(net, BINARY_CONFIG, 3);
  const rng = new Rng(4);
  const { h, w, c } = net.input;
  const x = bt(batch, h, w, c, rng.fillNormal(new Float32Array(batch * h * w * c)));
  const labels = Array.from({ length: batch }, (_, i) => i % 10);
  const step = () => { t.zeroGrad(); const y = t.forward(x, true); t.backward(softmaxCrossEntropy(y, labels, 0.1).dlogits); };
  step();
  const ours1: number[] = [];
  for (let i = 0; i < iters; i++) { const t0 = performance.now(); step(); ours1.push((performance.now() - t0) / 1000); }
  // as `birealsim train` (default --replicas 2): every product on its replica's thread, one replica per core
  await useKernelGemm(1);
  const t2 = new TrainNet(net, BINARY_CONFIG, 3);
  const rep = await Replicas.start(t2, 2, 'wasm-simd');
  const labels8 = Uint8Array.from(labels);
  const ours: number[] = [];
  try {
    await rep.trainStep(x, labels8, 0.1);
    for (let i = 0; i < iters; i++) { const t0 = performance.now(); await rep.trainStep(x, labels8, 0.1); ours.push((performance.now() - t0) / 1000); }
  } finally {
    await rep.close();
  }

  const params: Record<string, { shape: number[]; data: number[] }> = {};
  for (const rl of net.layers) for (const p of ['weight', 'bias', 'gamma', 'beta', 'running_mean', 'running_var']) {
    const v = t.params.get(`${rl.layer.id}.${p}`);
    if (!v) continue;
    const l = rl.layer as unknown as { outChannels: number; kernel: number; outFeatures: number };
    const shape = p === 'weight' && (rl.layer.op === 'conv' || rl.layer.op === 'bconv') ? [l.outChannels, l.kernel, l.kernel, rl.inShapes[0].c]
      : p === 'weight' ? [l.outFeatures, v.length / l.outFeatures] : [v.length];
    params[`${rl.layer.id}.${p}`] = { shape, data: Array.from(v) };
  }
  const dir = mkdtempSync(join(tmpdir(), 'birealsim-bench-'));
  let torchSeconds: number[] | null = null, torchSkipped = '';
  try {
    const file = join(dir, 'case.json');
    writeFileSync(file, JSON.stringify({ workload: wl, params, input: { n: batch, h, w, c, data: Array.from(x.data) }, labels, smoothing: 0.1, regime: 'binary' }));
    const r = spawnSync('/usr/bin/python3', [TORCH_SCRIPT, '--bench', String(iters), file], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '2' }, maxBuffer: 256 << 20 });
    // no PyTorch: the peer is skipped with its reason, ours is still measured
    if (r.status !== 0) torchSkipped = `skipped: PyTorch peer failed (${(r.stderr || String(r.error ?? '')).trim().split('\n').pop()}); install: apt-get install -y --no-install-recommends python3-torch libopenblas0-pthread`;
    else torchSeconds = (JSON.parse(r.stdout) as { seconds_per_iter: number[] }[])[0].seconds_per_iter;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const ours_img_s = batch / median(ours), ours_1replica_img_s = batch / median(ours1);
  if (!torchSeconds) return { ours_img_s, ours_1replica_img_s, torch_img_s: torchSkipped, ratio: 'n/a', target: 'ratio >= 0.5: not checked (no peer)', load_before, load_after: loadavg()[0] };
  const torch_img_s = batch / median(torchSeconds);
  const ratio = ours_img_s / torch_img_s;
  return { ours_img_s, ours_1replica_img_s, torch_img_s, ratio, target: `ratio >= 0.5: ${ratio >= 0.5 ? 'met' : 'NOT met'}`, load_before, load_after: loadavg()[0] };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const r = await benchTraining();
  process.stdout.write(JSON.stringify(r) + '\n');
}

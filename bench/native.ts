/**
 * Native-kernel benchmarks (issue 19; a section of bench/run.ts, `npm run bench -- --only native`; the
 * logits check is the separate section `logits`). Sides are INTERLEAVED over TRIALS trials on a possibly
 * shared machine, the median trial is reported with the best, and the 1-minute load is printed.
 *  (a) binary GEMM M = N = 256, K = 4608 bits: native addon (src/kernels/native.ts) on 1 and 2 threads vs our
 *      WebAssembly kernel (fast.ts binaryGemm, 1 thread) vs bench/bgemm_ref.c built with gcc -O3 -march=native.
 *      Targets: native 1 thread >= 3x WebAssembly and >= 0.8x the C kernel.
 *  (b) Bi-Real-18 golden, batch 1, 224x224 (random weights): native vs WebAssembly vs ONNX Runtime
 *      (onnxruntime-node, CPU, fp32 ResNet-18 exported once from bench/resnet18_torch.py's hand-defined
 *      model by bench/resnet18_onnx.py, cached in bench/.cache/) vs PyTorch (resnet18_torch.py --serve),
 *      at 1 and 2 threads. Targets: native >= 3x faster than ORT at 1 and at 2 threads; < 5 ms on 2 threads.
 *  (c) per-layer profile: the golden model's steps timed one by one (native, per-step KernelSet calls) and
 *      the WebAssembly resident program's parts (the 'before'), grouped.
 * Logits section: SHA-256 of the logits of every built-in workload (seeded random weights and input, as
 * `birealsim run`) with --kernels reference, native and wasm; they must be equal.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../src/core/rng.ts';
import { tensor, type Tensor } from '../src/core/tensor.ts';
import { bireal18, BUILTIN_WORKLOADS } from '../src/ir/builders.ts';
import { randomModel } from '../src/ir/model.ts';
import { resolveNetwork } from '../src/ir/validate.ts';
import { lower, stepOutput, type ExecPlan } from '../src/golden/plan.ts';
import { executeStep, runPlan } from '../src/golden/run.ts';
import { nativeProgramOf } from '../src/golden/native-program.ts';
import { binaryGemm, fastKernels, setKernelThreads } from '../src/kernels/fast.ts';
import { nativeBinaryGemm, nativeIsa, nativeKernels, nativeUnavailableReason } from '../src/kernels/native.ts';
import { referenceKernels } from '../src/kernels/reference.ts';
import { loadKernels } from '../src/kernels/wasm.ts';
import type { KernelSet } from '../src/kernels/types.ts';
import { loadInput, loadTarget } from '../src/cli/load.ts';
import { biReal18Case, buildCRef, GEMM, machineInfo, runCRef, TorchServer } from './kernels.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const TRIALS = 5;
/** Idle gap (ms) between the sides of an interleaved trial. */
const GAP_MS = 50;
const idle = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const load1 = () => round(loadavg()[0], 2);

function rate(fn: () => void, unitsPerCall: number, seconds: number): number {
  for (let i = 0; i < 3; i++) fn();
  const rates: number[] = [];
  const end = performance.now() + seconds * 1000;
  while (rates.length < 7 || performance.now() < end) {
    let reps = 0;
    const t0 = performance.now();
    let t1 = t0;
    do { fn(); reps++; t1 = performance.now(); } while (t1 - t0 < 20);
    rates.push((unitsPerCall * reps) / ((t1 - t0) / 1000));
    if (rates.length >= 200) break;
  }
  return median(rates);
}
function timeRuns(fn: () => void, n: number): number[] {
  const ts: number[] = [];
  for (let i = 0; i < n; i++) { const t0 = performance.now(); fn(); ts.push(performance.now() - t0); }
  return ts;
}

// ---------------------------------------------------------------- ONNX Runtime peer

const ONNX = join(HERE, '.cache', 'resnet18.onnx');
/** ORT session options used (stated in the report). */
const ortOptions = (threads: number) => ({
  intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential' as const, graphOptimizationLevel: 'all' as const,
  // ORT's default: intra-op threads spin-wait between parallel sections
  extra: { session: { intra_op: { allow_spinning: '1' } } },
});

interface OrtPeer { available: boolean; reason?: string; version?: string; run?: (threads: number) => Promise<number> }

async function ortPeer(): Promise<OrtPeer> {
  let ort: typeof import('onnxruntime-node');
  try { ort = await import('onnxruntime-node'); } catch (e) { return { available: false, reason: `onnxruntime-node not installed (${(e as Error).message.split('\n')[0]})` }; }
  if (!existsSync(ONNX)) {
    mkdirSync(dirname(ONNX), { recursive: true });
    try { execFileSync('/usr/bin/python3', [join(HERE, 'resnet18_onnx.py'), ONNX], { stdio: 'pipe' }); } catch (e) {
      return { available: false, reason: `ONNX export failed (${String((e as { stderr?: unknown }).stderr ?? e).trim().split('\n').pop()})` };
    }
  }
  const sessions = new Map<number, Awaited<ReturnType<typeof ort.InferenceSession.create>>>();
  const x = new ort.Tensor('float32', new Rng(7).fillNormal(new Float32Array(3 * 224 * 224)), [1, 3, 224, 224]);
  const run = async (threads: number): Promise<number> => {
    let s = sessions.get(threads);
    if (!s) {
      s = await ort.InferenceSession.create(ONNX, ortOptions(threads));
      sessions.set(threads, s);
      for (let i = 0; i < 3; i++) await s.run({ input: x });
    }
    const t0 = performance.now();
    await s.run({ input: x });
    return performance.now() - t0;
  };
  const version = (ort as unknown as { env?: { versions?: { node?: string } } }).env?.versions?.node ?? 'unknown';
  return { available: true, version, run };
}

// ---------------------------------------------------------------- per-layer profile

function groupOf(op: string, id: string): string {
  if (id.startsWith('stem.conv')) return 'stem conv 7x7/2 (fp32)';
  if (id.startsWith('stem')) return 'stem BN + max pool';
  if (op === 'bconv') return 'binary convs (XNOR-popcount + output transform)';
  if (/down/.test(id)) return 'downsample shortcuts (avg pool + 1x1 conv + BN)';
  if (op === 'sign') return 'sign + pack';
  if (op === 'add') return 'residual adds';
  if (op === 'gap' || op === 'fc') return 'head (GAP + FC)';
  return `other (${op})`;
}

/** Median ms per group of the plan's steps run one by one with `k` (golden/run.ts executeStep). */
function stepProfile(plan: ExecPlan, x: Tensor, k: KernelSet, reps: number): Map<string, number> {
  const per = new Map<string, number[]>();
  for (let r = 0; r < reps; r++) {
    const vals = new Map<string, ReturnType<typeof executeStep>['out']>([['input', x]]);
    for (const s of plan.steps) {
      const ins = s.inputs.map((n) => vals.get(n)!);
      const t0 = performance.now();
      const { out } = executeStep(s, ins, k, plan.realFormat);
      const dt = performance.now() - t0;
      vals.set(stepOutput(s), out);
      const g = groupOf(s.op, s.id);
      const a = per.get(g) ?? [];
      a[r] = (a[r] ?? 0) + dt;
      per.set(g, a);
    }
  }
  return new Map([...per].map(([g, v]) => [g, median(v)]));
}

/** Per layer group of the native resident program (each instruction = producer + fused epilogue, timed alone). */
function programProfile(plan: ExecPlan, x: Tensor, k: KernelSet, reps: number): Map<string, number> {
  const prog = nativeProgramOf(plan, k, (s, ins) => executeStep(s, ins, k, plan.realFormat));
  const per = new Map<string, number>();
  if (!prog) return per;
  for (const { step, ms } of prog.profile(x, reps)) { const g = groupOf(step.op, step.id); per.set(g, (per.get(g) ?? 0) + ms); }
  prog.dispose();
  return per;
}

// ---------------------------------------------------------------- section

export async function benchNative(): Promise<{ markdown: string }> {
  await loadKernels();
  const machine = machineInfo();
  const nat = nativeKernels();
  if (!nat) return { markdown: `### Native kernels\n\nSkipped: ${nativeUnavailableReason()}.` };
  const ok = (v: boolean) => (v ? 'met' : 'NOT met');
  // (a) binary GEMM
  const { M, N, K } = GEMM, wpr = K / 32;
  const rng = new Rng(2024);
  const A = new Uint32Array(M * wpr).map(() => rng.nextU32()), B = new Uint32Array(N * wpr).map(() => rng.nextU32());
  const out = new Int32Array(M * N);
  let cNative: ReturnType<typeof buildCRef> | undefined;
  try { cNative = buildCRef(['-O3', '-march=native']); } catch { cNative = undefined; }
  const g: Record<'n1' | 'n2' | 'w1' | 'c', number[]> = { n1: [], n2: [], w1: [], c: [] };
  try {
    for (let t = 0; t < TRIALS; t++) {
      await setKernelThreads(1);
      g.n1.push(rate(() => nativeBinaryGemm(A, B, M, N, K, out), M * N * K, 0.3) / 1e9);
      g.w1.push(rate(() => binaryGemm(A, B, M, N, K, out), M * N * K, 0.3) / 1e9);
      if (cNative) g.c.push(runCRef(cNative, 0.3));
      await setKernelThreads(2);
      g.n2.push(rate(() => nativeBinaryGemm(A, B, M, N, K, out), M * N * K, 0.3) / 1e9);
    }
  } finally { cNative?.dispose(); }
  const n1 = median(g.n1), w1 = median(g.w1), c = cNative ? median(g.c) : NaN, n2 = median(g.n2);
  const loadA = load1();

  // (b) Bi-Real-18 golden vs ORT vs PyTorch
  const plan = lower(randomModel(resolveNetwork(bireal18()), 42));
  const x = tensor(224, 224, 3);
  new Rng(7).fillNormal(x.data);
  const runWith = (k: KernelSet) => () => { runPlan(plan, x, { kernels: k }); };
  const ort = await ortPeer();
  const torch = [new TorchServer(1), new TorchServer(2)];
  const tinfo = await torch[0].start();
  if (tinfo.available) await torch[1].start();
  const sides = ['native', 'wasm', 'ort', 'torch'] as const;
  const paired: Record<number, number[]> = { 1: [], 2: [] };
  const T: Record<string, number[]> = {};
  for (const s of sides) for (const th of [1, 2]) T[`${s}${th}`] = [];
  try {
    for (const th of [1, 2]) { await setKernelThreads(th); for (let i = 0; i < 3; i++) { runWith(nat)(); runWith(fastKernels)(); } }
    for (let t = 0; t < TRIALS; t++) {
      for (const th of [1, 2]) {
        await setKernelThreads(th);
        // an idle gap before each side: the previous side's threads (ORT's and OpenMP's spin after a run, as
        // does our pool briefly) would otherwise still hold a core while the next side runs
        // and one untimed run per side first (caches refilled after the other sides, clocks up after the gap)
        await idle(GAP_MS);
        const nt = timeRuns(runWith(nat), 4).slice(1);
        T[`native${th}`].push(...nt);
        await idle(GAP_MS);
        if (ort.available) {
          await ort.run!(th);
          const ot: number[] = [];
          for (let i = 0; i < 3; i++) ot.push(await ort.run!(th));
          T[`ort${th}`].push(...ot);
          // the paired figure: this trial's ORT median over its native median (the two sides ~1 s apart)
          paired[th].push(median(ot) / median(nt));
        }
        await idle(GAP_MS);
        T[`wasm${th}`].push(...timeRuns(runWith(fastKernels), 4).slice(1));
        await idle(GAP_MS);
        if (tinfo.available) T[`torch${th}`].push(...(await torch[th - 1].runs(4)).slice(1));
      }
    }
  } finally { torch[0].stop(); torch[1].stop(); }
  const loadB = load1();
  const med = (k: string) => (T[k].length ? median(T[k]) : NaN);
  const best = (k: string) => (T[k].length ? Math.min(...T[k]) : NaN);

  // (c) profiles
  await setKernelThreads(1);
  const profN1 = stepProfile(plan, x, nat, 7);
  const progN1 = programProfile(plan, x, nat, 7);
  const wasmProf1 = biReal18Case().profile(7);
  await setKernelThreads(2);
  const profN2 = stepProfile(plan, x, nat, 7);
  const progN2 = programProfile(plan, x, nat, 7);
  const wasmProf2 = biReal18Case().profile(7);
  const loadC = load1();

  const row = (label: string, k: string, extra = '') => `| ${label} | ${round(med(k), 2)} | ${round(best(k), 2)} | ${extra} |`;
  const vsOrt = (th: number) => (ort.available ? med(`ort${th}`) / med(`native${th}`) : NaN);
  const pairedText = (th: number) => (paired[th].length ? ` (per trial: median ${round(median(paired[th]), 2)}x, ${round(Math.min(...paired[th]), 2)}-${round(Math.max(...paired[th]), 2)}x)` : '');
  const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  /** A per-group profile table: 1- and 2-thread ms per group, then the sums. */
  const profileTable = (title: string, p1: Map<string, number>, p2: Map<string, number>) => [
    `| ${title} | 1 thread ms | 2 threads ms |`,
    '|---|---:|---:|',
    ...[...p1.keys()].map((k) => `| ${k} | ${round(p1.get(k)!, 2)} | ${round(p2.get(k) ?? 0, 2)} |`),
    `| sum | ${round(sum(p1), 2)} | ${round(sum(p2), 2)} |`,
  ];
  const md = [
    '### Native kernels (issue 19)',
    '',
    `Addon instruction set: **${nativeIsa()}** (chosen at run time). CPU: ${machine.cpu}, ${machine.cores} cores. Load average (1 min): ${machine.load1} at start, ${loadA} after (a), ${loadB} after (b), ${loadC} after (c).`,
    '',
    `| (a) binary GEMM M=N=${M}, K=${K} bits | GBOPS (median) | GBOPS (best) | ratio of medians |`,
    '|---|---:|---:|---:|',
    `| native, 1 thread | ${round(n1)} | ${round(Math.max(...g.n1))} | ${round(n1 / w1, 2)}x WebAssembly (target >= 3: ${ok(n1 / w1 >= 3)}); ${round(n1 / c, 2)}x C -march=native (target >= 0.8: ${ok(n1 / c >= 0.8)}) |`,
    `| native, 2 threads | ${round(n2)} | ${round(Math.max(...g.n2))} | ${round(n2 / n1, 2)}x native 1 thread |`,
    `| ours, WebAssembly, 1 thread | ${round(w1)} | ${round(Math.max(...g.w1))} | 1.00 |`,
    cNative ? `| C \`gcc ${cNative.flags}\` (bench/bgemm_ref.c), 1 core, vector popcount: ${cNative.vectorPopcnt ? 'yes' : 'no'} | ${round(c)} | ${round(Math.max(...g.c))} | ${round(c / w1, 2)}x WebAssembly |` : '| C -march=native | not built | | |',
    '',
    `| (b) 224x224 batch-1 inference | median ms | best ms | |`,
    '|---|---:|---:|---|',
    row('Bi-Real-18 golden, native, 1 thread', 'native1', ort.available ? `${round(vsOrt(1), 2)}x faster than ORT 1 thread (target >= 3: ${ok(vsOrt(1) >= 3)})${pairedText(1)}` : ''),
    row('Bi-Real-18 golden, native, 2 threads', 'native2', `${ort.available ? `${round(vsOrt(2), 2)}x faster than ORT 2 threads (target >= 3: ${ok(vsOrt(2) >= 3)})${pairedText(2)}; ` : ''}< 5 ms: ${ok(med('native2') < 5)}`),
    row('Bi-Real-18 golden, WebAssembly, 1 thread', 'wasm1', `native is ${round(med('wasm1') / med('native1'), 2)}x faster`),
    row('Bi-Real-18 golden, WebAssembly, 2 threads', 'wasm2', `native is ${round(med('wasm2') / med('native2'), 2)}x faster`),
    ort.available ? row('ResNet-18 fp32, ONNX Runtime (onnxruntime-node), 1 thread', 'ort1', '') : `| ONNX Runtime | skipped: ${ort.reason} | | |`,
    ort.available ? row('ResNet-18 fp32, ONNX Runtime, 2 threads', 'ort2', '') : '',
    tinfo.available ? row(`ResNet-18 fp32, PyTorch ${tinfo.torch}, 1 thread`, 'torch1', `native is ${round(med('torch1') / med('native1'), 2)}x faster`) : `| PyTorch | skipped: ${tinfo.reason} | | |`,
    tinfo.available ? row('ResNet-18 fp32, PyTorch, 2 threads', 'torch2', `native is ${round(med('torch2') / med('native2'), 2)}x faster`) : '',
    '',
    `${TRIALS} trials x 3 runs per side and thread count, interleaved (native, ORT, WebAssembly, PyTorch in turn, with an idle gap of ${GAP_MS} ms before each side so that the previous side's spinning threads have stopped, then one untimed run of that side). The target checks use the ratio of the medians over all trials; "per trial" is each trial's ORT median over its native median (measured about a second apart), which this host's minute-to-minute speed changes affect less. ORT session: intraOpNumThreads = 1 or 2, interOpNumThreads 1, sequential execution, graph optimisation 'all', intra-op spinning on (allow_spinning 1, ORT's default); the model is bench/resnet18_torch.py's ResNet-18 exported by bench/resnet18_onnx.py (opset 13), cached in bench/.cache/. PyTorch: OMP_NUM_THREADS = 1 or 2 (OpenMP threads spin at barriers). Native threads: the addon's pool (spins ~20k pauses, then sleeps; work split in chunks taken dynamically).`,
    '',
    'Where the time goes, per layer group (median ms over 7 runs; native: each step timed one by one through the KernelSet; WebAssembly ("before"): the resident program\'s parts, bench/kernels.ts groups):',
    '',
    ...profileTable('native per-step part (before)', profN1, profN2),
    '',
    'After: the native resident program (golden/native-program.ts; what `runPlan` runs), each instruction (producer kernel + the fused epilogue of its group) timed alone, summed per group of its producer step (median ms over 7 runs; element ops are inside the epilogues; timed alone, the stem conv and its max pool run apart, where `runPlan` on AVX2 runs them as one):',
    '',
    ...profileTable('native program part (after)', progN1, progN2),
    '',
    ...profileTable('WebAssembly part (before)', wasmProf1, wasmProf2),
    ...(Math.max(machine.load1, loadA, loadB, loadC) > 0.8 * machine.cores / 2
      ? ['', `**Machine busy** (load up to ${Math.max(machine.load1, loadA, loadB, loadC)} on ${machine.cores} cores): 2-thread figures (ours, ORT's and PyTorch's) depend on when a core was free; re-run on an idle machine.`]
      : []),
  ].join('\n');
  return { markdown: md };
}

/** Logits SHA-256 of every built-in workload with the reference, native and WebAssembly kernel sets. */
export async function benchLogits(): Promise<{ markdown: string }> {
  await loadKernels();
  await setKernelThreads(2);
  const sets: [string, KernelSet | undefined][] = [['reference', referenceKernels], ['native', nativeKernels()], ['wasm', fastKernels]];
  const rows: string[] = [];
  let allSame = true;
  for (const name of Object.keys(BUILTIN_WORKLOADS)) {
    const { model } = loadTarget(name, 0);
    const { input } = loadInput(undefined, model.net, 0);
    const plan = lower(model);
    const shas = sets.map(([, k]) => {
      if (!k) return 'n/a';
      const { logits } = runPlan(plan, input, { kernels: k });
      return createHash('sha256').update(new Uint8Array(logits.buffer, logits.byteOffset, logits.byteLength)).digest('hex');
    });
    const same = shas.every((s) => s === shas[0] || s === 'n/a');
    allSame &&= same;
    rows.push(`| ${name} | ${shas[0].slice(0, 16)} | ${shas[1] === shas[0] ? 'same' : shas[1].slice(0, 16)} | ${shas[2] === shas[0] ? 'same' : shas[2].slice(0, 16)} |`);
  }
  return {
    markdown: ['### Logits SHA-256 per built-in workload (seed 0 weights and input, as `birealsim run`)', '', '| workload | reference | native | wasm |', '|---|---|---|---|', ...rows, '', `All equal: **${allSame ? 'yes' : 'NO'}**. Load average (1 min) after: ${load1()}.`].join('\n'),
  };
}

if (process.argv[1]?.endsWith('bench/native.ts')) {
  const which = process.argv[2] ?? 'native';
  const r = which === 'logits' ? await benchLogits() : await benchNative();
  process.stdout.write(r.markdown + '\n');
  const { closeKernelPool } = await import('../src/kernels/fast.ts');
  await closeKernelPool();
}

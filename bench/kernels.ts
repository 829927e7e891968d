/**
 * Kernel benchmarks (a section of bench/run.ts; runnable alone: node bin/run-ts.mjs bench/kernels.ts).
 *  (a) binary GEMM throughput, M = N = 256, K = 4608 bits (the 3x3x512 reduction of Bi-Real-18's last
 *      stage), in GBOPS where 1 BOP = one 1-bit multiply-accumulate (M*N*K per GEMM): ours (fast kernels,
 *      WebAssembly) on 1 and 2 threads vs bench/bgemm_ref.c compiled here with `gcc -O3 -mpopcnt` (scalar
 *      POPCNT; the object code is checked for the absence of vector popcounts), 1 core. The same C built
 *      with -march=native (GCC auto-vectorises with AVX-512 VPOPCNTQ where present) is shown for context.
 *  (b) Bi-Real-18 224x224 batch-1 inference latency of the golden model (fast kernels, random weights)
 *      vs full-precision ResNet-18 in PyTorch (bench/resnet18_torch.py, /usr/bin/python3,
 *      OMP_NUM_THREADS=2), both median of several runs after warm-up, measured back to back.
 * Wall-clock times; the machine may be shared, so the 1-minute load average is recorded before and after.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../src/core/rng.ts';
import { tensor } from '../src/core/tensor.ts';
import { bireal18 } from '../src/ir/builders.ts';
import { randomModel } from '../src/ir/model.ts';
import { resolveNetwork } from '../src/ir/validate.ts';
import { lower } from '../src/golden/plan.ts';
import { runPlan } from '../src/golden/run.ts';
import { binaryGemm, getBinaryKernel, kernelStats, setKernelThreads } from '../src/kernels/fast.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

export interface MachineInfo { cpu: string; cores: number; node: string; date: string; popcnt: boolean; vpopcntdq: boolean; load1: number }

export function machineInfo(): MachineInfo {
  let flags = '';
  try { flags = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags')) ?? ''; } catch { /* not Linux */ }
  const has = (f: string) => flags.split(/\s+/).includes(f);
  return { cpu: cpus()[0]?.model ?? 'unknown', cores: availableParallelism(), node: process.version, date: new Date().toISOString(), popcnt: has('popcnt'), vpopcntdq: has('avx512_vpopcntdq'), load1: round(loadavg()[0], 2) };
}

/** Runs `fn` in rounds of >= 20 ms for about `seconds`; returns the median rate of `unitsPerCall` per second. */
function rate(fn: () => void, unitsPerCall: number, seconds = 1.5, minRounds = 7): number {
  for (let i = 0; i < 5; i++) fn(); // warm-up (lets V8 tier the wasm up to TurboFan)
  const rates: number[] = [];
  const end = performance.now() + seconds * 1000;
  while (rates.length < minRounds || performance.now() < end) {
    let reps = 0;
    const t0 = performance.now();
    let t1 = t0;
    do { fn(); reps++; t1 = performance.now(); } while (t1 - t0 < 20);
    rates.push((unitsPerCall * reps) / ((t1 - t0) / 1000));
    if (rates.length >= 200) break;
  }
  return median(rates);
}

export const GEMM = { M: 256, N: 256, K: 4608 } as const;

/** Ours: GBOPS of binaryGemm on `threads` threads (main thread + threads-1 workers). */
export async function benchBinaryGemmOurs(threads: number, seconds = 1.5): Promise<{ gbops: number; check: number }> {
  await setKernelThreads(threads);
  const { M, N, K } = GEMM, wpr = K / 32;
  const rng = new Rng(2024);
  const a = new Uint32Array(M * wpr).map(() => rng.nextU32()), b = new Uint32Array(N * wpr).map(() => rng.nextU32());
  const before = kernelStats.parallelCalls;
  let check = 0;
  const gbops = rate(() => { check = binaryGemm(a, b, M, N, K)[7]; }, M * N * K, seconds) / 1e9;
  if (threads > 1 && kernelStats.parallelCalls === before) throw new Error('bench: the 2-thread GEMM never ran on the worker');
  return { gbops, check };
}

export interface CRefResult { flags: string; gbops: number; scalarPopcnt: boolean; vectorPopcnt: boolean; compiler: string }

/** Compiles bench/bgemm_ref.c with `flags` and runs it on one core. */
export function benchBinaryGemmC(flags: string[], seconds = 1.5): CRefResult {
  const dir = mkdtempSync(join(tmpdir(), 'birealsim-bench-'));
  try {
    const exe = join(dir, 'bgemm_ref');
    execFileSync('gcc', [...flags, '-o', exe, join(HERE, 'bgemm_ref.c')], { stdio: 'pipe' });
    let asm = '';
    try { asm = execFileSync('objdump', ['-d', exe], { encoding: 'utf8', maxBuffer: 64 << 20 }); } catch { /* objdump missing: leave unknown */ }
    const out = execFileSync(exe, [String(GEMM.M), String(GEMM.N), String(GEMM.K), String(seconds)], { encoding: 'utf8' });
    const m = /GBOPS ([\d.]+)/.exec(out);
    if (!m) throw new Error(`bench: unexpected output from the C reference: ${out}`);
    const compiler = execFileSync('gcc', ['--version'], { encoding: 'utf8' }).split('\n')[0];
    return { flags: flags.join(' '), gbops: Number(m[1]), scalarPopcnt: /\spopcnt\s/.test(asm), vectorPopcnt: /vpopcnt/.test(asm), compiler };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Golden-model Bi-Real-18 224x224 batch-1 latency (fast kernels), median ms. */
export async function benchBiReal18(threads: number, runs = 15): Promise<{ medianMs: number; runsMs: number[] }> {
  await setKernelThreads(threads);
  const net = resolveNetwork(bireal18());
  const plan = lower(randomModel(net, 42));
  const x = tensor(224, 224, 3);
  new Rng(7).fillNormal(x.data);
  for (let i = 0; i < 5; i++) runPlan(plan, x);
  const ts: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    runPlan(plan, x);
    ts.push(performance.now() - t0);
  }
  return { medianMs: median(ts), runsMs: ts.map((t) => round(t, 2)) };
}

export interface TorchResult { available: boolean; reason?: string; medianMs?: number; torch?: string; threads?: number }

/** PyTorch fp32 ResNet-18 latency via bench/resnet18_torch.py (skipped with a reason if torch is missing). */
export function benchTorchResNet18(runs = 15): TorchResult {
  const py = '/usr/bin/python3';
  if (!existsSync(py)) return { available: false, reason: `${py} not found` };
  const r = spawnSync(py, [join(HERE, 'resnet18_torch.py'), String(runs), '3'], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '2' }, timeout: 600_000 });
  if (r.status !== 0) return { available: false, reason: `resnet18_torch.py failed (${(r.stderr || '').trim().split('\n').pop()}); install: apt-get install -y --no-install-recommends python3-torch libopenblas0-pthread` };
  const j = JSON.parse(r.stdout.trim().split('\n').pop()!);
  return { available: true, medianMs: j.median_ms, torch: j.torch, threads: j.threads };
}

export interface KernelBench {
  machine: MachineInfo; loadAfter: number; binaryKernel: string;
  ours1: number; ours2: number; cScalar: CRefResult; cNative?: CRefResult;
  ratio1VsC: number; scaling2: number;
  bireal2Ms: number; bireal1Ms: number; torch: TorchResult; speedupVsTorch?: number;
  markdown: string;
}

/** The whole kernel section: (a) and (b), rendered as Markdown. */
export async function benchKernels(): Promise<KernelBench> {
  const machine = machineInfo();
  const bk = getBinaryKernel();
  const cScalar = benchBinaryGemmC(['-O3', '-mpopcnt']);
  const ours1 = (await benchBinaryGemmOurs(1)).gbops;
  const ours2 = (await benchBinaryGemmOurs(2)).gbops;
  let cNative: CRefResult | undefined;
  try { cNative = benchBinaryGemmC(['-O3', '-march=native']); } catch { cNative = undefined; }
  const torch = benchTorchResNet18();
  const b2 = await benchBiReal18(2);
  const b1 = await benchBiReal18(1);
  await setKernelThreads(2);
  const loadAfter = round(loadavg()[0], 2);
  const ratio1VsC = ours1 / cScalar.gbops, scaling2 = ours2 / ours1;
  const speedupVsTorch = torch.available ? torch.medianMs! / b2.medianMs : undefined;
  const ok = (v: boolean) => (v ? 'met' : 'NOT met');
  const md = [
    `### Kernels`,
    ``,
    `Binary kernel: ${bk.kind} ${bk.P}x${bk.O} register tile. 1 BOP = one 1-bit multiply-accumulate; GEMM M=N=${GEMM.M}, K=${GEMM.K} bits (${round((GEMM.M * GEMM.N * GEMM.K) / 1e6, 1)} MBOP per call). Wall-clock medians of >= 7 rounds of >= 20 ms after warm-up.`,
    ``,
    `| (a) binary GEMM | GBOPS | ratio |`,
    `|---|---:|---:|`,
    `| ours, WebAssembly, 1 thread | ${round(ours1)} | ${round(ratio1VsC, 2)}x C scalar (target >= 1.0: ${ok(ratio1VsC >= 1)}) |`,
    `| ours, WebAssembly, 2 threads | ${round(ours2)} | ${round(scaling2, 2)}x ours 1 thread (target >= 1.8: ${ok(scaling2 >= 1.8)}) |`,
    `| C \`gcc ${cScalar.flags}\`, 1 core (scalar POPCNT: ${cScalar.scalarPopcnt ? 'yes' : 'no'}, vector popcount: ${cScalar.vectorPopcnt ? 'yes' : 'no'}) | ${round(cScalar.gbops)} | 1.00 |`,
    cNative ? `| C \`gcc ${cNative.flags}\`, 1 core, for context (vector popcount: ${cNative.vectorPopcnt ? 'yes, AVX-512 VPOPCNTQ' : 'no'}) | ${round(cNative.gbops)} | ${round(cNative.gbops / cScalar.gbops, 2)} |` : `| C -march=native | not built | |`,
    ``,
    `Compiler: ${cScalar.compiler}.`,
    ``,
    `| (b) 224x224 batch-1 inference | median ms | |`,
    `|---|---:|---:|`,
    `| Bi-Real-18, golden model, fast kernels, 2 threads | ${round(b2.medianMs, 2)} | ${speedupVsTorch ? `${round(speedupVsTorch, 2)}x faster than PyTorch (target >= 1.5: ${ok(speedupVsTorch >= 1.5)})` : ''} |`,
    `| Bi-Real-18, golden model, fast kernels, 1 thread | ${round(b1.medianMs, 2)} | |`,
    torch.available ? `| ResNet-18 fp32, PyTorch ${torch.torch}, ${torch.threads} threads (OMP_NUM_THREADS=2) | ${round(torch.medianMs!, 2)} | 1.00 |` : `| ResNet-18 PyTorch | skipped: ${torch.reason} | |`,
    ``,
    `Load average (1 min): ${machine.load1} before, ${loadAfter} after this section.`,
  ].join('\n');
  return { machine, loadAfter, binaryKernel: `${bk.kind} ${bk.P}x${bk.O}`, ours1, ours2, cScalar, cNative, ratio1VsC, scaling2, bireal2Ms: b2.medianMs, bireal1Ms: b1.medianMs, torch, speedupVsTorch, markdown: md };
}

if (process.argv[1]?.endsWith('bench/kernels.ts')) {
  const r = await benchKernels();
  process.stdout.write(r.markdown + '\n');
  const { closeKernelPool } = await import('../src/kernels/fast.ts');
  await closeKernelPool();
}

/**
 * Kernel benchmarks (a section of bench/run.ts; runnable alone: node bin/run-ts.mjs bench/kernels.ts).
 *  (a) binary GEMM throughput, M = N = 256, K = 4608 bits (the 3x3x512 reduction of Bi-Real-18's last
 *      stage), in GBOPS where 1 BOP = one 1-bit multiply-accumulate (M*N*K per GEMM): ours (fast kernels,
 *      WebAssembly) on 1 and 2 threads vs bench/bgemm_ref.c compiled here with `gcc -O3 -mpopcnt` (scalar
 *      POPCNT; the object code is checked for the absence of vector popcounts), 1 core. The same C built
 *      with -march=native (GCC auto-vectorises with AVX-512 VPOPCNTQ where present) is shown for context.
 *  (b) Bi-Real-18 224x224 batch-1 inference latency of the golden model (fast kernels, random weights;
 *      runPlan executes it resident in the kernels' wasm memory, golden/resident.ts; a per-part profile
 *      of that program on 1 and 2 threads follows the table)
 *      vs full-precision ResNet-18 in PyTorch (bench/resnet18_torch.py, /usr/bin/python3,
 *      OMP_NUM_THREADS=2), both median of several runs after warm-up, measured back to back.
 * Wall-clock times. The machine may be shared, so the sides are INTERLEAVED (several trials, each running
 * every side briefly in turn) and each side's median over trials is reported, with its best trial; the
 * 1-minute load average is recorded before and after.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
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
import { executeStep, runPlan } from '../src/golden/run.ts';
import { residentProgram } from '../src/golden/resident.ts';
import { binaryGemm, fastKernels, getBinaryKernel, kernelStats, poolStats, setKernelThreads } from '../src/kernels/fast.ts';
import { loadKernels } from '../src/kernels/wasm.ts';

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
function rate(fn: () => void, unitsPerCall: number, seconds: number, minRounds = 7): number {
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
export async function benchBinaryGemmOurs(threads: number, seconds: number, result: 'copy' | 'view' = 'copy'): Promise<{ gbops: number; check: number }> {
  await loadKernels();
  await setKernelThreads(threads);
  const { M, N, K } = GEMM, wpr = K / 32;
  const rng = new Rng(2024);
  const a = new Uint32Array(M * wpr).map(() => rng.nextU32()), b = new Uint32Array(N * wpr).map(() => rng.nextU32());
  const before = kernelStats.parallelCalls;
  let check = 0;
  const out = new Int32Array(M * N); // reused, as the C reference reuses its output buffer
  // 'copy': the dots end in a JS array; 'view': they stay where the kernel wrote them (wasm memory), as
  // the C reference leaves its dots in its buffer
  const gbops = rate(() => { check = binaryGemm(a, b, M, N, K, result === 'view' ? 'view' : out)[7]; }, M * N * K, seconds) / 1e9;
  if (threads > 1 && kernelStats.parallelCalls === before) throw new Error('bench: the 2-thread GEMM never ran on the worker');
  return { gbops, check };
}

export interface CRefBuild { flags: string; exe: string; scalarPopcnt: boolean; vectorPopcnt: boolean; compiler: string; dispose(): void }

/** Compiles bench/bgemm_ref.c with `flags` into a temp dir and inspects its object code. */
export function buildCRef(flags: string[]): CRefBuild {
  const dir = mkdtempSync(join(tmpdir(), 'birealsim-bench-'));
  const exe = join(dir, 'bgemm_ref');
  execFileSync('gcc', [...flags, '-o', exe, join(HERE, 'bgemm_ref.c')], { stdio: 'pipe' });
  let asm = '';
  try { asm = execFileSync('objdump', ['-d', exe], { encoding: 'utf8', maxBuffer: 64 << 20 }); } catch { /* objdump missing: leave unknown */ }
  const compiler = execFileSync('gcc', ['--version'], { encoding: 'utf8' }).split('\n')[0];
  return { flags: flags.join(' '), exe, scalarPopcnt: /\spopcnt\s/.test(asm), vectorPopcnt: /vpopcnt/.test(asm), compiler, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs a built C reference on one core for about `seconds`; returns its GBOPS (median of its rounds). */
export function runCRef(b: CRefBuild, seconds: number): number {
  const out = execFileSync(b.exe, [String(GEMM.M), String(GEMM.N), String(GEMM.K), String(seconds)], { encoding: 'utf8' });
  const m = /GBOPS ([\d.]+)/.exec(out);
  if (!m) throw new Error(`bench: unexpected output from the C reference: ${out}`);
  return Number(m[1]);
}

/** A random-weight Bi-Real-18 plan and input, built once (not timed). */
export function biReal18Case(): { run: () => void; profile: (reps: number) => Map<string, number> } {
  const net = resolveNetwork(bireal18());
  const plan = lower(randomModel(net, 42));
  const x = tensor(224, 224, 3);
  new Rng(7).fillNormal(x.data);
  return {
    run: () => { runPlan(plan, x); },
    // median ms per op of the resident program (golden/resident.ts), summed into groups
    profile: (reps) => {
      const prog = residentProgram(plan, false, (st, ins) => executeStep(st, ins, fastKernels));
      const groups = new Map<string, number>();
      for (const { label, ms } of prog.profile(x, reps)) {
        const g = /^stem\.conv/.test(label) ? 'stem conv 7x7/2 + BN (fp32)'
          : /^stem\.pool/.test(label) ? 'stem max pool'
          : /\((xnor|bconv)\)( im2col)?$/.test(label) ? 'binary convs (im2col + XNOR-popcount)' // labels: 'id (op)[ what]' (golden/resident.ts)
          : /epilogue|\(sign\)|\(add\)/.test(label) ? 'fused epilogues (output transform, residual add, sign + pack)'
          : /down\./.test(label) ? 'downsample shortcuts (avg pool + 1x1 conv + BN)'
          : /^head/.test(label) ? 'head (GAP + FC)' : 'other';
        groups.set(g, (groups.get(g) ?? 0) + ms);
      }
      return groups;
    },
  };
}

/** Times n runs of fn (ms each). */
function timeRuns(fn: () => void, n: number): number[] {
  const ts: number[] = [];
  for (let i = 0; i < n; i++) { const t0 = performance.now(); fn(); ts.push(performance.now() - t0); }
  return ts;
}

export interface TorchResult { available: boolean; reason?: string; torch?: string; threads?: number }

/** A PyTorch fp32 ResNet-18 kept warm in a child process (bench/resnet18_torch.py --serve). */
export class TorchServer {
  private lines: AsyncIterator<string> | undefined;
  private child: ReturnType<typeof spawn> | undefined;
  info: TorchResult = { available: false, reason: 'not started' };
  constructor(private readonly threads = 2) {}
  async start(): Promise<TorchResult> {
    const py = '/usr/bin/python3';
    if (!existsSync(py)) return (this.info = { available: false, reason: `${py} not found` });
    const child = spawn(py, [join(HERE, 'resnet18_torch.py'), '--serve'], { env: { ...process.env, OMP_NUM_THREADS: String(this.threads) }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => { stderr += String(d); });
    child.stdin!.on('error', () => {}); // a child that exits early (no torch) is reported by start(), not by EPIPE
    this.child = child;
    this.lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const first = await this.lines.next();
    if (first.done) {
      this.child = undefined; // it has exited: nothing to stop (writing to it would raise EPIPE)
      return (this.info = { available: false, reason: `resnet18_torch.py failed (${stderr.trim().split('\n').pop()}); install: apt-get install -y --no-install-recommends python3-torch libopenblas0-pthread` });
    }
    const j = JSON.parse(first.value);
    return (this.info = { available: true, torch: j.torch, threads: j.threads });
  }
  async runs(n: number): Promise<number[]> {
    this.child!.stdin!.write(`${n}\n`);
    const r = await this.lines!.next();
    if (r.done) throw new Error('bench: the PyTorch process ended early');
    return JSON.parse(r.value).runs_ms;
  }
  stop(): void { this.child?.stdin?.end('0\n'); }
}

const TRIALS = 5;

export interface KernelBench {
  machine: MachineInfo; loadAfter: number; binaryKernel: string;
  ours1: number; ours2: number; cScalar: number; cNative?: number; best: { ours1: number; ours2: number; cScalar: number };
  ratio1VsC: number; scaling2: number; view1: number; view2: number; viewScaling: number;
  bireal2Ms: number; bireal1Ms: number; torchMs?: number; torch1Ms?: number; torch: TorchResult; speedupVsTorch?: number;
  markdown: string;
}

/** The whole kernel section: (a) and (b), sides interleaved over TRIALS trials, rendered as Markdown. */
export async function benchKernels(): Promise<KernelBench> {
  await loadKernels();
  const machine = machineInfo();
  const bk = getBinaryKernel();
  // (a) binary GEMM
  const scalar = buildCRef(['-O3', '-mpopcnt']);
  let native: CRefBuild | undefined;
  try { native = buildCRef(['-O3', '-march=native']); } catch { native = undefined; }
  const a: Record<'c' | 'n' | 'o1' | 'o2' | 'v1' | 'v2', number[]> = { c: [], n: [], o1: [], o2: [], v1: [], v2: [] };
  try {
    for (let t = 0; t < TRIALS; t++) {
      a.c.push(runCRef(scalar, 0.4));
      a.o1.push((await benchBinaryGemmOurs(1, 0.4)).gbops);
      a.o2.push((await benchBinaryGemmOurs(2, 0.4)).gbops);
      a.v1.push((await benchBinaryGemmOurs(1, 0.3, 'view')).gbops);
      a.v2.push((await benchBinaryGemmOurs(2, 0.3, 'view')).gbops);
      if (native) a.n.push(runCRef(native, 0.3));
    }
  } finally { scalar.dispose(); native?.dispose(); }
  // (b) inference latency, ours (2 and 1 threads) and PyTorch in turn
  const torchServer = new TorchServer(2), torchServer1 = new TorchServer(1);
  const torch = await torchServer.start();
  const torch1 = torch.available ? await torchServer1.start() : torch;
  const bi = biReal18Case();
  const b: Record<'t' | 't1' | 'o1' | 'o2', number[]> = { t: [], t1: [], o1: [], o2: [] };
  const pool2 = { posted: 0, cancelled: 0, backoffs: 0 }; // worker hand-offs during the timed 2-thread runs
  try {
    await setKernelThreads(2);
    for (let i = 0; i < 5; i++) bi.run(); // warm-up: wasm tier-up, weight packing
    for (let t = 0; t < TRIALS; t++) {
      if (torch.available) b.t.push(...(await torchServer.runs(3)));
      await setKernelThreads(2);
      const s0 = poolStats();
      const before = s0 ? { ...s0 } : undefined;
      b.o2.push(...timeRuns(bi.run, 3));
      const s1 = poolStats();
      if (before && s1) { pool2.posted += s1.posted - before.posted; pool2.cancelled += s1.cancelled - before.cancelled; pool2.backoffs += s1.backoffs - before.backoffs; }
      await setKernelThreads(1);
      b.o1.push(...timeRuns(bi.run, 3));
      if (torch1.available) b.t1.push(...(await torchServer1.runs(3)));
    }
  } finally { torchServer.stop(); torchServer1.stop(); }
  // where the time goes: per-op medians of the resident program, on 1 and 2 threads
  await setKernelThreads(1);
  const prof1 = bi.profile(7);
  await setKernelThreads(2);
  const prof2 = bi.profile(7);
  const loadAfter = round(loadavg()[0], 2);
  const max = (xs: number[]) => Math.max(...xs);
  const ours1 = median(a.o1), ours2 = median(a.o2), cScalar = median(a.c), cNative = native ? median(a.n) : undefined;
  const ratio1VsC = ours1 / cScalar, scaling2 = ours2 / ours1;
  const view1 = median(a.v1), view2 = median(a.v2), viewScaling = view2 / view1;
  const bireal2Ms = median(b.o2), bireal1Ms = median(b.o1), torchMs = torch.available ? median(b.t) : undefined;
  const torch1Ms = torch1.available && b.t1.length ? median(b.t1) : undefined;
  const speedupVsTorch = torchMs !== undefined ? torchMs / bireal2Ms : undefined;
  const ok = (v: boolean) => (v ? 'met' : 'NOT met');
  const md = [
    `### Kernels`,
    ``,
    `Binary kernel: ${bk.kind} ${bk.P}x${bk.O} register tile. 1 BOP = one 1-bit multiply-accumulate; GEMM M=N=${GEMM.M}, K=${GEMM.K} bits (${round((GEMM.M * GEMM.N * GEMM.K) / 1e6, 1)} MBOP per call).`,
    `Each side runs ${TRIALS} times, interleaved with the others (trial = ~0.3-0.4 s per side, each the median of >= 7 rounds of >= 20 ms after warm-up); the table gives the median trial and the best trial. The C reference leaves its dots in its own buffer; ours are measured both copied out into a JS array (what a JS caller of \`binaryGemm(a, b, M, N, K, out)\` gets) and left in the shared wasm memory.`,
    ``,
    `| (a) binary GEMM | GBOPS (median) | GBOPS (best) | ratio of medians |`,
    `|---|---:|---:|---:|`,
    `| ours, WebAssembly i64.popcnt, 1 thread, dots copied into a JS array | ${round(ours1)} | ${round(max(a.o1))} | ${round(ratio1VsC, 2)}x C scalar (target >= 1.0: ${ok(ratio1VsC >= 1)}) |`,
    `| ours, 2 threads, dots copied into a JS array | ${round(ours2)} | ${round(max(a.o2))} | ${round(scaling2, 2)}x ours 1 thread (target >= 1.8: ${ok(scaling2 >= 1.8)}) |`,
    `| ours, 1 thread, dots left in wasm memory (\`binaryGemm(..., 'view')\`) | ${round(view1)} | ${round(max(a.v1))} | ${round(view1 / cScalar, 2)}x C scalar |`,
    `| ours, 2 threads, dots left in wasm memory | ${round(view2)} | ${round(max(a.v2))} | ${round(viewScaling, 2)}x ours 1 thread (same target: ${ok(viewScaling >= 1.8)}) |`,
    `| C \`gcc ${scalar.flags}\`, 1 core (scalar POPCNT: ${scalar.scalarPopcnt ? 'yes' : 'no'}, vector popcount: ${scalar.vectorPopcnt ? 'yes' : 'no'}) | ${round(cScalar)} | ${round(max(a.c))} | 1.00 |`,
    native && cNative !== undefined ? `| C \`gcc ${native.flags}\`, 1 core, for context only (vector popcount: ${native.vectorPopcnt ? 'yes, AVX-512 VPOPCNTQ' : 'no'}) | ${round(cNative)} | ${round(max(a.n))} | ${round(cNative / cScalar, 2)} |` : `| C -march=native | not built | | |`,
    ``,
    `Compiler: ${scalar.compiler}.`,
    ``,
    `| (b) 224x224 batch-1 inference | median ms | best ms | |`,
    `|---|---:|---:|---:|`,
    `| Bi-Real-18, golden model, fast kernels, 2 threads | ${round(bireal2Ms, 2)} | ${round(Math.min(...b.o2), 2)} | ${speedupVsTorch !== undefined ? `speed-up vs PyTorch ${round(speedupVsTorch, 2)}x (PyTorch ms / ours ms; target >= 1.5: ${ok(speedupVsTorch >= 1.5)})` : ''} |`,
    `| Bi-Real-18, golden model, fast kernels, 1 thread | ${round(bireal1Ms, 2)} | ${round(Math.min(...b.o1), 2)} | ${torch1Ms !== undefined ? `${round(torch1Ms / bireal1Ms, 2)}x PyTorch on 1 thread (context) ` : ''}|`,
    torchMs !== undefined ? `| ResNet-18 fp32, PyTorch ${torch.torch}, ${torch.threads} threads (OMP_NUM_THREADS=2) | ${round(torchMs, 2)} | ${round(Math.min(...b.t), 2)} | 1.00 |` : `| ResNet-18 PyTorch | skipped: ${torch.reason} | | |`,
    torch1Ms !== undefined ? `| ResNet-18 fp32, PyTorch, 1 thread (OMP_NUM_THREADS=1), for context | ${round(torch1Ms, 2)} | ${round(Math.min(...b.t1), 2)} | |` : '',
    ``,
    `${TRIALS * 3} timed runs per side after warm-up (3 per trial). Load average (1 min): ${machine.load1} before, ${loadAfter} after this section. The 1-thread rows suffer least when other jobs share the 2 cores (a 2-thread run waits for its slower thread; PyTorch's OpenMP threads spin at barriers).`,
    `During the timed 2-thread runs: ${pool2.posted} kernel calls handed to the worker, ${pool2.cancelled} of them done by the main thread alone because the worker was not running in time, ${pool2.backoffs} back-offs (the worker stalled holding work: calls stayed on the main thread for 10-160 ms; see src/kernels/pool.ts).`,
    ``,
    `Where the golden model's time goes (median ms per kernel launch over 7 runs, summed; launches are timed one by one, so the sums exceed the end-to-end medians slightly):`,
    ``,
    `| part | 1 thread ms | 2 threads ms |`,
    `|---|---:|---:|`,
    ...[...prof1.keys()].map((k) => `| ${k} | ${round(prof1.get(k)!, 2)} | ${round(prof2.get(k) ?? 0, 2)} |`),
    `| sum | ${round([...prof1.values()].reduce((x, y) => x + y, 0), 2)} | ${round([...prof2.values()].reduce((x, y) => x + y, 0), 2)} |`,
    ...(Math.max(machine.load1, loadAfter) > 0.8 * machine.cores / 2
      ? ['', `**Machine busy** (load ${Math.max(machine.load1, loadAfter)} on ${machine.cores} cores): other jobs competed for the cores, so the 2-thread numbers above (ours, and PyTorch's OMP_NUM_THREADS=2) depend on when a core was free and may be far from idle-machine values; the 1-thread GEMM rows are the most reliable. Re-run \`npm run bench\` on an idle machine.`]
      : []),
  ].join('\n');
  return {
    machine, loadAfter, binaryKernel: `${bk.kind} ${bk.P}x${bk.O}`, ours1, ours2, cScalar, cNative,
    best: { ours1: max(a.o1), ours2: max(a.o2), cScalar: max(a.c) }, ratio1VsC, scaling2, view1, view2, viewScaling,
    bireal2Ms, bireal1Ms, torchMs, torch1Ms, torch, speedupVsTorch, markdown: md,
  };
}

if (process.argv[1]?.endsWith('bench/kernels.ts')) {
  const r = await benchKernels();
  process.stdout.write(r.markdown + '\n');
  const { closeKernelPool } = await import('../src/kernels/fast.ts');
  await closeKernelPool();
}

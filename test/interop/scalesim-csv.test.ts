/**
 * Issue 13 item 5: `birealsim import topology.csv --binary|--real` (interop/scalesim-topology.ts).
 * Fixtures are SCALE-Sim's own topology files (test/fixtures/scalesim/README.md: source path, commit, licence).
 * Expected numbers are derived by hand in the comments from SCALE-Sim's formulas
 * (shared/reference/accelerator-model.md §1; ofmap = ceil((H - R + S) / S) from scalesim/topology_utils.py;
 * OS cycles per fold R + C + K - 2, Fr * Fc folds, printed one less), not read back from the code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import { runCli } from '../cli/run-cli.ts';
import { loadWorkloadText } from '../../src/ir/validate.ts';
import { systolicGemm } from '../../src/sim/systolic.ts';
import { parseTopology } from '../../src/interop/scalesim-topology.ts';
import { TrainNet } from '../../src/train/net.ts';
import { exportOnnx } from '../../src/interop/onnx-export.ts';
import { randomModel } from '../../src/ir/model.ts';

const FIX = 'test/fixtures/scalesim';
const MAC_ARCH = 'arch/examples/scalesim-compat-mac.json';
let dir = '';
const P = (n: string) => join(dir, n);

async function importCsv(csv: string, precision: 'binary' | 'real', out: string) {
  const r = await runCli(['import', csv, `--${precision}`, '--out', P(out)]);
  expect(r.code, r.err).toBe(0);
  return { text: readFileSync(P(out), 'utf8'), stdout: r.out };
}
async function simulateJson(workload: string, arch: string) {
  const r = await runCli(['simulate', workload, '--arch', arch, '--json']);
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out) as { layers: { id: string; executesOn: string; cycles: { compute: number }; inShape: number[]; outShape: number[]; dramBytes: Record<string, number>; scalesimSramWords?: { ifmapReads: number; filterReads: number; ofmapWrites: number } }[] };
}

/** SCALE-Sim's conv rows of a topology, read naively (name, H, W, R, S', C, N, stride) with its ceil formula. */
function scalesimRows(csv: string) {
  return readFileSync(csv, 'utf8').split('\n').slice(1).filter((l) => l.trim()).map((l) => {
    const f = l.split(',').map((x) => x.trim());
    const [H, W, R, , C, N, S] = f.slice(1, 8).map(Number);
    const Ho = Math.ceil((H - R + S) / S), Wo = Math.ceil((W - R + S) / S);
    return { name: f[0], Ho, Wo, M: Ho * Wo, N, K: R * R * C };
  });
}

beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'birealsim-scalesim-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('SCALE-Sim topology import (conv form, SCALE-Sim Resnet18.csv)', () => {
  const csv = `${FIX}/Resnet18.csv`;
  it('imports as independent real layers whose output sizes follow SCALE-Sim\'s formula', async () => {
    const { text } = await importCsv(csv, 'real', 'r18-real.json');
    const net = loadWorkloadText(text, 'r18-real.json');
    const rows = scalesimRows(csv);
    expect(rows).toHaveLength(21);
    expect(net.layers).toHaveLength(21);
    // hand-checked: Conv1 224x224, 7x7, stride 2: ceil((224 - 7 + 2)/2) = ceil(109.5) = 110 (the IR's floor
    // formula on 224 would give 109: the import extends the IFMAP to (110 - 1)*2 + 7 = 225)
    const c1 = net.byId.get('Conv1')!;
    expect([c1.out.h, c1.out.w, c1.out.c]).toEqual([110, 110, 64]);
    expect(c1.inputs).toEqual(['input']);
    expect(net.input).toMatchObject({ h: 225, w: 225, c: 3 });
    // hand-checked: Conv3_s 56x56, 1x1, stride 2: ceil((56 - 1 + 2)/2) = ceil(28.5) = 29, 128 filters
    const c3s = net.byId.get('Conv3_s')!;
    expect([c3s.out.h, c3s.out.w, c3s.out.c]).toEqual([29, 29, 128]);
    expect(c3s.inputs).toEqual(['input:Conv3_s']);
    expect(net.segmentInputs.get('input:Conv3_s')).toMatchObject({ h: 57, w: 57, c: 64 });
    // an IFMAP that needs no extension is taken as given: Conv2_1a 56x56x64, 3x3/1 -> 54x54
    expect(net.segmentInputs.get('input:Conv2_1a')).toMatchObject({ h: 56, w: 56, c: 64 });
    expect(net.byId.get('Conv2_1a')!.out).toMatchObject({ h: 54, w: 54, c: 64 });
    // every row: SCALE-Sim's output size, N filters, no padding, and no layer reads another
    for (const r of rows) {
      const l = net.byId.get(r.name)!;
      expect([l.out.h, l.out.w, l.out.c], r.name).toEqual([r.Ho, r.Wo, r.N]);
      expect(l.layer).toMatchObject({ op: 'conv', pad: 0, bias: false });
      expect(l.inputs[0] === 'input' || l.inputs[0] === `input:${r.name}`).toBe(true);
    }
  });

  it('--binary puts a sign before each binary conv (pad 0, pad mode zero) and nothing else', async () => {
    const { text } = await importCsv(csv, 'binary', 'r18-bin.json');
    const net = loadWorkloadText(text, 'r18-bin.json');
    expect(net.layers).toHaveLength(42);
    expect(net.layers.map((l) => l.layer.op)).toEqual(Array.from({ length: 42 }, (_, i) => (i % 2 ? 'bconv' : 'sign')));
    const fc = net.byId.get('FC')!;
    expect(fc.layer).toMatchObject({ op: 'bconv', kernel: 1, stride: 1, pad: 0, padMode: 'zero', outChannels: 1000 });
    expect(fc.inputs).toEqual(['FC.sign']);
    expect(net.byId.get('FC.sign')!.inputs).toEqual(['input:FC.sign']);
    expect(net.segmentInputs.get('input:FC.sign')).toMatchObject({ h: 1, w: 1, c: 512 });
  });

  it('the imported workload validates against the generated schema, and importing twice gives the same bytes', async () => {
    const ajv = new (Ajv2020 as unknown as typeof Ajv2020.default)({ allErrors: true, strict: false });
    const validate = ajv.compile(JSON.parse(readFileSync('schemas/workload.schema.json', 'utf8')));
    for (const p of ['binary', 'real'] as const) {
      const a = await importCsv(csv, p, `twice-a-${p}.json`), b = await importCsv(csv, p, `twice-b-${p}.json`);
      expect(a.text).toBe(b.text);
      expect(validate(JSON.parse(a.text)), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
    }
  });

  it('simulate --arch scalesim-compat: every layer\'s compute cycles are SCALE-Sim\'s for its GEMM dims', async () => {
    const real = await simulateJson(P('r18-real.json'), MAC_ARCH);
    const bin = await simulateJson(P('r18-bin.json'), 'scalesim-compat');
    // hand-derived, 32x32 OS, full-array skew, printed = RTL - 1:
    //  Conv1: M = 110*110 = 12100, N = 64, K = 7*7*3 = 147: Fr = 379, Fc = 2, 758 x (32+32+147-2 = 209) = 158422 -> 158421
    //  FC: M = 1, N = 1000, K = 512: Fr = 1, Fc = 32, 32 x (62 + 512) = 18368 -> 18367
    //  Conv5_2b: 7x7, 3x3/1: M = 25, N = 512, K = 4608: Fr = 1, Fc = 16, 16 x (62 + 4608) = 74720 -> 74719
    const hand: Record<string, number> = { Conv1: 158421, FC: 18367, Conv5_2b: 74719 };
    for (const r of [real, bin]) {
      const by = new Map(r.layers.map((l) => [l.id, l]));
      for (const [id, cyc] of Object.entries(hand)) expect(by.get(id)!.cycles.compute, id).toBe(cyc);
      // every row: the systolic model (validated against hand-derived SCALE-Sim numbers in test/sim/timing.test.ts)
      for (const s of scalesimRows(csv)) expect(by.get(s.name)!.cycles.compute, s.name).toBe(systolicGemm(s.M, s.N, s.K, 32, 32, 'os', 'array').computeCycles - 1);
    }
    expect(real.layers.every((l) => l.executesOn === 'mac-array')).toBe(true);
    // SCALE-Sim's SRAM words for Conv1 (OS): ifmap M*K*ceil(N/C) = 12100*147*2 = 3557400; filter K*N*ceil(M/R) =
    // 147*64*379 = 3565632; ofmap M*N + folds*(R+C) = 774400 + 758*64 = 822912
    expect(real.layers.find((l) => l.id === 'Conv1')!.scalesimSramWords).toEqual({ ifmapReads: 3557400, filterReads: 3565632, ofmapWrites: 822912 });
    // independent layers: each reads its own IFMAP from DRAM and writes its OFMAP there (fp32: 4 B per element)
    for (const l of real.layers) {
      const inName = l.id === 'Conv1' ? 'input:input' : `input:input:${l.id}`;
      expect(l.dramBytes[inName], l.id).toBe(l.inShape.reduce((a, b) => a * b, 4));
      expect(l.dramBytes[`output:${l.id}`], l.id).toBe(l.outShape.reduce((a, b) => a * b, 4));
    }
    expect(bin.layers.filter((l) => !l.id.endsWith('.sign')).every((l) => l.executesOn === 'xnor-array')).toBe(true);
  });

  it('cost accepts it: BOPs are the sum of SCALE-Sim\'s M*N*K', async () => {
    const r = await runCli(['cost', P('r18-bin.json'), '--json']);
    expect(r.code, r.err).toBe(0);
    const macs = scalesimRows(csv).reduce((a, s) => a + s.M * s.N * s.K, 0);
    expect(r.out).toContain(`"bops": ${macs}`);
  });
});

describe('SCALE-Sim topology import, small cases', () => {
  it('the GEMM form (SCALE-Sim test_mnk_input.csv) is a 1x1 conv on M x 1 x K with N filters', async () => {
    const { text } = await importCsv(`${FIX}/test_mnk_input.csv`, 'real', 'gemm.json');
    const net = loadWorkloadText(text, 'gemm.json');
    // Test 1: M = 128, N = 64, K = 256
    expect(net.input).toMatchObject({ h: 128, w: 1, c: 256 });
    expect(net.layers[0].layer).toMatchObject({ id: 'Test 1', op: 'conv', kernel: 1, outChannels: 64 });
    expect(net.layers[0].out).toMatchObject({ h: 128, w: 1, c: 64 });
    // OS 32x32: Fr = 4, Fc = 2, 8 x (62 + 256) = 2544 -> 2543
    expect((await simulateJson(P('gemm.json'), MAC_ARCH)).layers[0].cycles.compute).toBe(2543);
  });

  it('the GEMM dims of the existing SCALE-Sim test (8x8x16, 3x3 -> 36 x 40 x 144) give its 823 cycles', async () => {
    // test/sim/timing.test.ts 'SCALE-Sim compatibility': OS, 4 folds x 206 = 824, printed 823
    writeFileSync(P('one.csv'), 'Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\nbc, 8, 8, 3, 3, 16, 40, 1,\n');
    await importCsv(P('one.csv'), 'binary', 'one.json');
    const r = await simulateJson(P('one.json'), 'scalesim-compat');
    expect(r.layers.find((l) => l.id === 'bc')!.cycles.compute).toBe(823);
  });

  it('a topology without the trailing commas, with blank lines and a DP row parses as SCALE-Sim does', () => {
    const t = parseTopology('Layer name,IFMAP Height,IFMAP Width,Filter Height,Filter Width,Channels,Num Filter,Strides\n\nA,5,5,3,3,2,4,2\nConvDP,6,6,3,3,3,1,1,\n', 'x.csv');
    expect(t.form).toBe('conv');
    // A: ceil((5 - 3 + 2)/2) = 2; ConvDP: 3 one-channel layers ConvDPChannel_0..2 (SCALE-Sim's depth-wise expansion)
    expect(t.rows.map((r) => [r.name, r.ofmapH, r.channels, r.line])).toEqual([['A', 2, 2, 3], ['ConvDPChannel_0', 4, 1, 4], ['ConvDPChannel_1', 4, 1, 4], ['ConvDPChannel_2', 4, 1, 4]]);
  });

  it('train and ONNX export refuse a workload with independent segments (no single input), as user errors', async () => {
    writeFileSync(P('two.csv'), 'Layer, M, N, K,\ng1, 4, 3, 8,\ng2, 2, 5, 6,\n');
    const { text } = await importCsv(P('two.csv'), 'real', 'two.json');
    const net = loadWorkloadText(text, 'two.json');
    expect(() => new TrainNet(net, { signAs: 'binary', bconvWeights: 'binary', actGrad: 'approxsign', weightGrad: 'magnitude-aware' })).toThrow(/independent segments/);
    expect(() => exportOnnx(randomModel(net, 1))).toThrow(/independent segments/);
  });

  it('a non-square filter (DeepBench\'s DeepSpeech_1) is imported as its im2col GEMM with SCALE-Sim\'s M, N, K', async () => {
    // SCALE-Sim topologies/CSV/DeepBench.csv row 'DeepSpeech_1,700,161,20,5,1,32,2,' (its header names column 2
    // 'IFMAP Width' twice; SCALE-Sim reads by position). Ho = ceil((700 - 20 + 2)/2) = 341, Wo = ceil((161 - 5 + 2)/2) = 79,
    // M = 26939, N = 32, K = 20*5*1 = 100 -> a 1x1 conv on 341x79x100
    writeFileSync(P('ds.csv'), '\uFEFFLayer, IFMAP Width, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\nDeepSpeech_1,700,161,20,5,1,32,2,\n,,,,,,,,\n');
    const { text, stdout } = await importCsv(P('ds.csv'), 'real', 'ds.json');
    expect(stdout).toMatch(/im2col GEMM/);
    expect(stdout).toMatch(/header 'IFMAP Width' read as 'IFMAP Height'/);
    const net = loadWorkloadText(text, 'ds.json');
    expect(net.layers).toHaveLength(1);
    expect(net.input).toMatchObject({ h: 341, w: 79, c: 100 });
    expect(net.layers[0].layer).toMatchObject({ kernel: 1, stride: 1, outChannels: 32 });
    // OS 32x32: Fr = ceil(26939/32) = 842, Fc = 1, 842 x (62 + 100) = 136404 -> 136403
    expect((await simulateJson(P('ds.json'), MAC_ARCH)).layers[0].cycles.compute).toBe(136403);
  });

  it('independent segments run bit-exactly: functional simulation = golden model, on every kernel set', async () => {
    writeFileSync(P('small.csv'), 'Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\nA, 9, 9, 3, 3, 8, 16, 1,\nB, 8, 10, 3, 3, 40, 8, 2,\nC, 4, 4, 1, 1, 33, 5, 1,\n');
    await importCsv(P('small.csv'), 'binary', 'small.json');
    const v = await runCli(['simulate', P('small.json'), '--arch', 'edge', '--functional', '--verify']);
    expect(v.code, v.err).toBe(0);
    expect(v.out).toMatch(/bit-exact on all 6 steps/);
    // the dataflow family reads every network input per frame: 9*9*8 + 9*11*40 + 4*4*33 = 5136 values x 16 bit
    const df = await runCli(['simulate', P('small.json'), '--arch', 'dataflow-bnn', '--json']);
    expect(df.code, df.err).toBe(0);
    expect(JSON.parse(df.out).dram.inputBytes).toBe(10272);
    const shas = new Set<string>();
    for (const k of ['reference', 'fast', 'wasm']) {
      const r = await runCli(['run', P('small.json'), '--kernels', k]);
      expect(r.code, r.err).toBe(0);
      shas.add(/logits sha256: (\w+)/.exec(r.out)![1]);
    }
    expect(shas.size).toBe(1);
  });
});

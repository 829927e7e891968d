/**
 * birealsim formats: per real-stream format, golden accuracy (fp32 equal to `birealsim eval`), simulated cost
 * on the arch with that stream width, and golden == functional simulator bit for bit. Random-weight
 * bireal-tiny on a 40-image IDX test split cut from MNIST (quick on a loaded machine).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.ts';
import { resolveNetwork } from '../../src/ir/validate.ts';
import { randomModel, saveModel } from '../../src/ir/model.ts';
import { toDeployable } from '../../src/ir/deploy.ts';
import { variantWorkload } from '../../src/train/variants.ts';
import { loadMnist, type Split } from '../../src/data/datasets.ts';
import { loadArch } from '../../src/sim/arch.ts';
import { buildReport } from '../../src/report/build.ts';
import { buildCharts } from '../../src/report/charts.ts';

let dir = '', model = '', data = '';
async function cli(args: string[]) {
  let out = '', err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => { out += String(s); return true; });
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => { err += String(s); return true; });
  try { return { code: await main(args), out, err }; } finally { o.mockRestore(); e.mockRestore(); }
}

/** IDX (uint8) files of the first n images of a split. */
function writeIdx(d: string, prefix: string, s: Split, n: number): void {
  const be = (v: number) => [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
  writeFileSync(join(d, `${prefix}-images-idx3-ubyte`), Buffer.concat([Buffer.from([0, 0, 8, 3, ...be(n), ...be(28), ...be(28)]), Buffer.from(s.images.subarray(0, n * 784))]));
  writeFileSync(join(d, `${prefix}-labels-idx1-ubyte`), Buffer.concat([Buffer.from([0, 0, 8, 1, ...be(n)]), Buffer.from(s.labels.subarray(0, n))]));
}

const FORMATS = 'fp16,int16q8,int16q10,int8q4,int8q2';
let result: any; // eslint-disable-line @typescript-eslint/no-explicit-any
let resultText = '';

describe('birealsim formats', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'formats-'));
    data = join(dir, 'idx');
    mkdirSync(data);
    const mn = loadMnist();
    writeIdx(data, 'train', mn.train, 300);
    writeIdx(data, 't10k', mn.test, 40);
    model = join(dir, 'tiny.safetensors');
    saveModel(model, toDeployable(randomModel(resolveNetwork(variantWorkload('bireal-tiny')!), 11)));
    const r = await cli(['formats', model, '--dataset', `idx:${data}`, '--formats', FORMATS, '--check-images', '2', '--json']);
    expect(r.code, r.err).toBe(0);
    resultText = r.out;
    result = JSON.parse(r.out);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('evaluates fp32 first (the agreement reference) and then the listed formats on the whole test split', () => {
    expect(result.kind).toBe('formats');
    expect(result.formats.map((f: any) => f.format.name)).toEqual(['fp32', ...FORMATS.split(',')]);
    expect(result.notes.join(' ')).toMatch(/fp32 was not listed and was added/);
    expect(result.dataset.images).toBe(40);
    for (const f of result.formats) expect(f.accuracy.images).toBe(40);
    expect(result.model.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('golden == functional simulator, bit for bit, in every format', () => {
    for (const f of result.formats) {
      expect(f.bitExact, f.format.name).toMatchObject({ images: 2, bitExactImages: 2 });
      expect(f.bitExact.stepsChecked).toBeGreaterThan(10);
    }
  });

  it('fp32 accuracy equals `birealsim eval` golden accuracy on the same data', async () => {
    const e = await cli(['eval', model, '--dataset', `idx:${data}`, '--json']);
    expect(e.code, e.err).toBe(0);
    const ev = JSON.parse(e.out);
    expect(ev.testImages).toBe(40);
    const fp32 = result.formats[0];
    expect(fp32.accuracy.accuracy).toBe(ev.goldenAccuracy);
    expect(fp32.accuracy.correct).toBe(Math.round(ev.goldenAccuracy * 40));
    expect(fp32.accuracy).toMatchObject({ agreementWithFp32: 1, changedVsFp32: 0, maxAbsLogitDiffVsFp32: 0 });
  });

  it('the formats really change the numerics: rounding moves logits, a 2-fraction-bit int8 stream changes predictions', () => {
    const by = (n: string) => result.formats.find((f: any) => f.format.name === n);
    for (const n of FORMATS.split(',')) expect(by(n).accuracy.maxAbsLogitDiffVsFp32, n).toBeGreaterThan(0);
    // int8q2 keeps steps of 0.25 in [-32, 31.75]: coarser than fp16's 11-bit mantissa everywhere below 512
    expect(by('int8q2').accuracy.maxAbsLogitDiffVsFp32).toBeGreaterThan(by('fp16').accuracy.maxAbsLogitDiffVsFp32);
    for (const f of result.formats) expect(f.accuracy.agreementWithFp32).toBeCloseTo(1 - f.accuracy.changedVsFp32 / 40, 12);
  });

  it('cost: equal widths cost the same; a narrower stream never moves more real-stream or DRAM bytes, nor costs more energy', () => {
    const rows = result.formats;
    for (const f of rows) expect(f.sim.feasible).toBe(true);
    // the simulator reads only the width (arch.realBits): same width -> identical cost
    expect(rows.find((f: any) => f.format.name === 'int16q8').sim).toEqual(rows.find((f: any) => f.format.name === 'fp16').sim);
    expect(rows.find((f: any) => f.format.name === 'int8q2').sim).toEqual(rows.find((f: any) => f.format.name === 'int8q4').sim);
    // every stored real value takes bits/8 bytes in the realStream buffer and in DRAM; the bit-packed binary
    // tensors and weights do not depend on it: narrower never more, and strictly fewer (the net has real tensors)
    const byBits = [32, 16, 8].map((b) => rows.find((f: any) => f.format.bits === b).sim);
    for (let i = 1; i < byBits.length; i++) {
      expect(byBits[i].realStreamSramBytes.totalBytes).toBeLessThan(byBits[i - 1].realStreamSramBytes.totalBytes);
      expect(byBits[i].dramBytes).toBeLessThan(byBits[i - 1].dramBytes);
      expect(byBits[i].energyPerFrameJ).toBeLessThan(byBits[i - 1].energyPerFrameJ);
      expect(byBits[i].energyJ.peArray).toBeCloseTo(byBits[i - 1].energyJ.peArray, 18); // binary convs untouched
    }
  });

  it('each derived arch is the base arch with only the real-stream width (and its energy class) changed', () => {
    const base = loadArch('edge');
    expect(result.archs.map((a: any) => [a.name, a.realBits])).toEqual([['edge-real32', 32], ['edge-real16', 16], ['edge-real8', 8]]);
    for (const a of result.archs) {
      expect(a.peArray).toEqual(JSON.parse(JSON.stringify(base.peArray)));
      expect(a.dram).toEqual(JSON.parse(JSON.stringify(base.dram)));
      expect(a.realUnit).toEqual(JSON.parse(JSON.stringify(base.realUnit)));
      expect(a.buffers).toEqual(JSON.parse(JSON.stringify(base.buffers)));
      expect(a.realPrecision).toBe({ 32: 'fp32', 16: 'fp16', 8: 'int8' }[a.realBits as 8 | 16 | 32]);
    }
    expect(result.notes.join(' ')).toMatch(/precisionBits set to the format's width/);
  });

  it('is deterministic: a second run prints the same bytes', async () => {
    const r = await cli(['formats', model, '--dataset', `idx:${data}`, '--formats', FORMATS, '--check-images', '2', '--json']);
    expect(r.out).toBe(resultText);
  });

  it('the report reads it: one table row and one chart point per format', () => {
    const rep = buildReport([{ name: 'f.json', sha256: 'x', text: resultText }], { title: 't', toolVersion: '0' });
    expect(rep.formats![0].points.map((p) => p.format)).toEqual(['fp32', ...FORMATS.split(',')]);
    expect(rep.configs.filter((c) => c.kind === 'arch').map((c) => c.name)).toEqual(['edge-real32', 'edge-real16', 'edge-real8']);
    const ch = buildCharts(rep).charts.find((c) => c.id === 'formats-accuracy-energy-0')!;
    expect((ch.config.data as { datasets: unknown[] }).datasets).toHaveLength(6 + 1);
  });

  it('bad input is one line, exit 2', async () => {
    for (const [args, re] of [
      [['--formats', 'fp32,int8q9'], /--formats: unknown real-stream format 'int8q9'/],
      [['--formats', 'fp16,fp16'], /--formats: format 'fp16' is listed twice/],
      [['--images', '0'], /--images: expected a positive integer/],
      [['--arch', 'egde'], /no such architecture preset.*did you mean 'edge'/],
    ] as [string[], RegExp][]) {
      const r = await cli(['formats', model, '--dataset', `idx:${data}`, ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(re);
    }
    const nd = await cli(['formats', model]);
    expect(nd.code).toBe(2);
    expect(nd.err).toMatch(/no dataset given.*tiny\.safetensors|tiny\.safetensors.*no dataset given/);
  });
});

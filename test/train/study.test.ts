/**
 * train/study.ts: a study resumes from its work folder (finished runs are not redone, a torn last line is
 * redone), refuses a folder made with other settings, and gives verdicts from Welch's test.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainOptionsFrom } from '../../src/cli/train.ts';
import { welch } from '../../src/core/stats.ts';
import type { Dataset } from '../../src/data/datasets.ts';
import { resolveNetwork } from '../../src/ir/validate.ts';
import { initGemm } from '../../src/kernels/batch-fast.ts';
import { Rng } from '../../src/core/rng.ts';
import { readRuns, runStudy, settingsHash, verdictBetter, RUNS_FILE, type StudyConfig } from '../../src/train/study.ts';
import { variantWorkload } from '../../src/train/variants.ts';

const dir = mkdtempSync(join(tmpdir(), 'birealsim-study-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(async () => { await initGemm(); });

function synthetic(n: number): Dataset {
  const rng = new Rng(5);
  const split = () => { const images = new Uint8Array(n * 784); for (let i = 0; i < images.length; i++) images[i] = rng.int(256); return { images, labels: Uint8Array.from({ length: n }, (_, i) => i % 10), n }; };
  return { name: 'synthetic', h: 28, w: 28, c: 1, classes: 10, train: split(), test: split(), mean: 0.5, std: 0.3, flipsSensible: false, note: 'random pixels' };
}

describe('studies over seeds', () => {
  const ds = synthetic(32);
  const flags = { epochs: 1, preEpochs: 0, batch: 16, lr: 1e-3, preLr: 1e-3, wd: 0, preWd: 0, optimizer: 'adam', momentum: 0.9, schedule: 'linear', milestones: '', gamma: 0.1, labelSmoothing: 0, actGrad: 'approxsign', weightGrad: 'magnitude-aware', init: 'scratch', weightClip: true, cropPad: 0, seed: 1, limitTrain: 0, gemm: 'js', replicas: 1 };
  const base = trainOptionsFrom(flags, ds);
  const configs: StudyConfig[] = [
    { key: 'a', name: 'A', what: 'per-conv', net: resolveNetwork(variantWorkload('bireal-tiny', 'per-conv')!), options: base },
    { key: 'b', name: 'B', what: 'per-block', net: resolveNetwork(variantWorkload('bireal-tiny', 'per-block')!), options: base },
  ];

  it('runs seed-major, records every run, and resumes without redoing finished runs', async () => {
    const work = join(dir, 'w1');
    const seen: string[] = [];
    const recs = await runStudy({ configs, seeds: 2, dataset: ds, workDir: work, log: (s) => seen.push(s) });
    expect(recs.map((r) => `${r.config}${r.seed}`)).toEqual(['a1', 'b1', 'a2', 'b2']);
    // a kill during the last append: the torn line is ignored and that run is redone, the others are not
    const lines = readFileSync(join(work, RUNS_FILE), 'utf8').trim().split('\n');
    writeFileSync(join(work, RUNS_FILE), lines.slice(0, 3).join('\n') + '\n' + lines[3].slice(0, 20));
    expect(readRuns(work).map((r) => r.config + r.seed)).toEqual(['a1', 'b1', 'a2']);
    const again: string[] = [];
    const recs2 = await runStudy({ configs, seeds: 2, dataset: ds, workDir: work, log: (s) => again.push(s) });
    expect(again[0]).toMatch(/resuming: 3 of 4 runs already done/);
    expect(again.filter((s) => /test accuracy/.test(s))).toHaveLength(1); // only B seed 2 ran
    // same seed, same settings: the redone run gives the same accuracy as the first time
    expect(recs2.find((r) => r.config === 'b' && r.seed === 2)!.accuracy).toBe(recs.find((r) => r.config === 'b' && r.seed === 2)!.accuracy);
  });

  it('a work folder of another study is refused (E_RESUME), not mixed in', async () => {
    const work = join(dir, 'w2');
    await runStudy({ configs: configs.slice(0, 1), seeds: 1, dataset: ds, workDir: work });
    const other = [{ ...configs[0], options: { ...base, main: { ...base.main, lr: 5e-3 } } }];
    expect(settingsHash(ds, other, 1)).not.toBe(settingsHash(ds, configs.slice(0, 1), 1));
    await expect(runStudy({ configs: other, seeds: 1, dataset: ds, workDir: work })).rejects.toMatchObject({ code: 'E_RESUME' });
    appendFileSync(join(work, RUNS_FILE), ''); // still intact
    expect(readRuns(work)).toHaveLength(1);
  });

  it('verdicts: holds / does not hold / not resolved', () => {
    const hi = [0.91, 0.912, 0.909, 0.911, 0.913], lo = [0.90, 0.899, 0.901, 0.902, 0.898];
    expect(verdictBetter(welch(hi, lo))).toBe('holds');
    expect(verdictBetter(welch(lo, hi))).toBe('does not hold');
    expect(verdictBetter(welch([0.9, 0.91, 0.89], [0.905, 0.895, 0.9]))).toBe('not resolved');
    expect(verdictBetter(undefined)).toBe('not resolved');
  });
});

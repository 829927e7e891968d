/**
 * The tiling iterator (src/sim/tiling.ts) against an independent naive loop nest written here: tile order
 * and geometry, tile count, every output element produced exactly once (and every input channel reduced
 * exactly once per output element), operand reloads found by comparing keys between consecutive tiles,
 * the closed-form reload counts and class multiplicities, input rows found by enumerating window taps.
 * Then the closed forms the mapper's search uses (DRAM bytes, compute lower bound) against the tile walk of
 * evaluate() on real layers.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import { BUILTIN_WORKLOADS } from '../../src/ir/builders.ts';
import { resolveNetwork } from '../../src/ir/validate.ts';
import { shapeOnlyModel } from '../../src/ir/model.ts';
import { lower } from '../../src/golden/plan.ts';
import { loadArch } from '../../src/sim/arch.ts';
import { buildLayers, type SideInput, type Unit } from '../../src/sim/layers.ts';
import { candidateMappings, computeLowerBound, dramBytesOf, evaluate, feasibility, layerContext } from '../../src/sim/mapper.ts';
import { reuseOf, TileCursor, tileClasses, tileIndex, tilesOf, tilingOf, touchedRows, type Mapping, type TiledLayer, type Tile } from '../../src/sim/tiling.ts';

interface Geometry { Ho: number; N: number; cin: number; kh: number; s: number; p: number; Hin: number; unit: Unit; channelwise: boolean; window?: { kernel: number; stride: number; pad: number; h: number } }

function layerOf(g: Geometry): TiledLayer {
  const sideInputs: SideInput[] = g.window ? [{ name: 'x', h: g.window.h, w: 4, c: 3, dtype: 'real', role: 'window', step: 'ks' }] : [];
  return {
    out: { h: g.Ho, w: 5, c: g.N }, cin: g.cin, kh: g.kh, stride: g.s, pad: g.p,
    input: { name: 'in', h: g.Hin, w: 7, c: g.cin, dtype: 'real' }, unit: g.unit, channelwise: g.channelwise,
    actWindow: g.window ? { kernel: g.window.kernel, stride: g.window.stride, pad: g.window.pad } : undefined, sideInputs,
  };
}

/** A conv-like geometry: output rows from the input rows by the usual formula; a window over another tensor of the same rows. */
function randomGeometry(rng: Rng): Geometry {
  for (;;) {
    const kh = 1 + rng.int(5), s = 1 + rng.int(3), p = rng.int(kh), Hin = 1 + rng.int(24);
    if (Hin + 2 * p < kh) continue;
    const Ho = Math.floor((Hin + 2 * p - kh) / s) + 1;
    const unit = (['pe-array', 'real-unit', 'pooling', 'ppu'] as const)[rng.int(4)];
    const channelwise = unit === 'pooling' || unit === 'ppu';
    const N = 1 + rng.int(70);
    const cin = channelwise ? N : 1 + rng.int(300);
    const window = unit === 'pe-array' && rng.int(2) ? { kernel: kh, stride: s, pad: p, h: Hin } : undefined;
    return { Ho, N, cin, kh, s, p, Hin, unit, channelwise, window };
  }
}

function randomMapping(rng: Rng, g: Geometry): Mapping {
  return { rowsPerTile: 1 + rng.int(g.Ho + 2), channelsPerTile: 1 + rng.int(g.N + 3), cinPerTile: 1 + rng.int(g.cin + 3), order: rng.int(2) ? 'nmk' : 'mnk' };
}

/** Input rows [lo, hi) actually read by the windows of output rows [oy0, oy1): the taps enumerated. */
function tappedRows(oy0: number, oy1: number, k: number, s: number, p: number, inH: number): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (let oy = oy0; oy < oy1; oy++) for (let ky = 0; ky < k; ky++) { const y = oy * s - p + ky; if (y >= 0 && y < inH) { lo = Math.min(lo, y); hi = Math.max(hi, y + 1); } }
  return [lo, hi];
}

interface NaiveTile { band: number; n: number; k: number; oy0: number; oy1: number; c0: number; c1: number; k0: number; k1: number; firstK: boolean; lastK: boolean; in: [number, number]; win: [number, number] | null; loadW: boolean; loadIn: boolean; loadWin: boolean }

/** The loop nest written out plainly, with reloads found by comparing each operand's key with the previous tile's. */
function naiveNest(g: Geometry, m: Mapping): NaiveTile[] {
  const r = Math.min(m.rowsPerTile, g.Ho), nt = Math.min(m.channelsPerTile, g.N), ct = Math.min(m.cinPerTile, g.cin);
  const nb = Math.ceil(g.Ho / r), nn = Math.ceil(g.N / nt), nk = Math.ceil(g.cin / ct);
  const out: NaiveTile[] = [];
  let prevW = '', prevIn = '', prevWinBand = -1;
  const visit = (band: number, n: number, k: number) => {
    const oy0 = band * r, oy1 = Math.min(g.Ho, oy0 + r);
    const wKey = `${n}/${k}`;
    const inKey = g.unit === 'real-unit' ? `${band}` : g.channelwise ? `${band}/${n}` : `${band}/${k}`;
    const lastK = k === nk - 1;
    const loadWin = lastK && band !== prevWinBand;
    if (lastK) prevWinBand = band;
    out.push({
      band, n, k, oy0, oy1, c0: n * nt, c1: Math.min(g.N, (n + 1) * nt), k0: k * ct, k1: Math.min(g.cin, (k + 1) * ct), firstK: k === 0, lastK,
      in: tappedRows(oy0, oy1, g.kh, g.s, g.p, g.Hin), win: g.window ? tappedRows(oy0, oy1, g.window.kernel, g.window.stride, g.window.pad, g.window.h) : null,
      loadW: wKey !== prevW, loadIn: inKey !== prevIn, loadWin,
    });
    prevW = wKey; prevIn = inKey;
  };
  if (m.order === 'nmk') { for (let n = 0; n < nn; n++) for (let b = 0; b < nb; b++) for (let k = 0; k < nk; k++) visit(b, n, k); }
  else for (let b = 0; b < nb; b++) for (let n = 0; n < nn; n++) for (let k = 0; k < nk; k++) visit(b, n, k);
  return out;
}

describe('tiling iterator vs a naive loop nest', () => {
  const rng = new Rng(1234);
  const cases: { g: Geometry; m: Mapping }[] = [];
  for (let i = 0; i < 400; i++) { const g = randomGeometry(rng); cases.push({ g, m: randomMapping(rng, g) }); }

  it('same tiles in the same order with the same geometry and reloads', () => {
    for (const { g, m } of cases) {
      const t = tilingOf(layerOf(g), m);
      const got = tilesOf(t), want = naiveNest(g, m);
      expect(got.length).toBe(want.length);
      expect(t.tiles).toBe(want.length);
      want.forEach((w, i) => {
        const x = got[i];
        const ctx = `${JSON.stringify(g)} ${JSON.stringify(m)} tile ${i}`;
        expect({ index: x.index, band: x.band, n: x.n, k: x.k, oy0: x.oy0, oy1: x.oy1, c0: x.c0, c1: x.c0 + x.channels, k0: x.k0, k1: x.k0 + x.cin, firstK: x.firstK, lastK: x.lastK, in: [x.inLo, x.inHi], loadW: x.loadWeights, loadIn: x.loadInput }, ctx)
          .toEqual({ index: i, band: w.band, n: w.n, k: w.k, oy0: w.oy0, oy1: w.oy1, c0: w.c0, c1: w.c1, k0: w.k0, k1: w.k1, firstK: w.firstK, lastK: w.lastK, in: w.in, loadW: w.loadW, loadIn: w.loadIn });
        if (w.win) { expect([x.winLo, x.winHi], ctx).toEqual(w.win); expect(x.loadWindow, ctx).toBe(w.loadWin); }
        expect(x.rows).toBe(x.oy1 - x.oy0);
        expect(tileIndex(t, x.band, x.n, x.k)).toBe(i);
      });
    }
  });

  it('every output element once; every (output element, input channel) reduced once', () => {
    for (const { g, m } of cases.slice(0, 150)) {
      const t = tilingOf(layerOf(g), m);
      const out = new Uint8Array(g.Ho * g.N);
      const red = g.channelwise ? undefined : new Uint8Array(g.Ho * g.N * g.cin);
      const c = new TileCursor(t);
      while (c.next()) {
        for (let y = c.oy0; y < c.oy1; y++) for (let ch = c.c0; ch < c.c0 + c.channels; ch++) {
          if (c.lastK) out[y * g.N + ch]++;
          if (red) for (let ci = c.k0; ci < c.k0 + c.cin; ci++) red[(y * g.N + ch) * g.cin + ci]++;
        }
      }
      expect(out.every((v) => v === 1)).toBe(true);
      if (red) expect(red.every((v) => v === 1)).toBe(true);
    }
  });

  it('closed-form reload counts: every distinct operand tile is loaded loadsPerTile times', () => {
    for (const { g, m } of cases) {
      const t = tilingOf(layerOf(g), m);
      const tiles = naiveNest(g, m);
      const loadsByKey = (load: (x: NaiveTile) => boolean, key: (x: NaiveTile) => string) => {
        const by = new Map<string, number>();
        for (const x of tiles) { const k = key(x); by.set(k, (by.get(k) ?? 0) + (load(x) ? 1 : 0)); }
        return [...by.values()];
      };
      const w = loadsByKey((x) => x.loadW, (x) => `${x.n}/${x.k}`);
      expect(w.length).toBe(t.channelTiles * t.kTiles);
      expect(new Set(w)).toEqual(new Set([reuseOf(t).weights.loadsPerTile]));
      const inKey = (x: NaiveTile) => (g.unit === 'real-unit' ? `${x.band}` : g.channelwise ? `${x.band}/${x.n}` : `${x.band}/${x.k}`);
      expect(new Set(loadsByKey((x) => x.loadIn, inKey))).toEqual(new Set([reuseOf(t).input.loadsPerTile]));
      expect(new Set(loadsByKey((x) => x.loadWin, (x) => `${x.band}`))).toEqual(new Set([reuseOf(t).window.loadsPerTile]));
    }
  });

  it('tile classes: multiplicities and the class each tile is tagged with', () => {
    for (const { g, m } of cases) {
      const t = tilingOf(layerOf(g), m);
      const count = new Map<string, number>();
      const key = (rows: number, ch: number, cin: number, f: boolean, l: boolean) => `${rows}/${ch}/${cin}/${f}/${l}`;
      const tiles: Tile[] = tilesOf(t);
      for (const x of tiles) {
        const k = key(x.rows, x.channels, x.cin, x.firstK, x.lastK);
        count.set(k, (count.get(k) ?? 0) + 1);
        const c = tileClasses(t)[x.cls];
        expect(key(c.rows, c.channels, c.cin, c.firstK, c.lastK)).toBe(k);
      }
      const fromClasses = new Map<string, number>();
      for (const c of tileClasses(t)) { const k = key(c.rows, c.channels, c.cin, c.firstK, c.lastK); fromClasses.set(k, (fromClasses.get(k) ?? 0) + c.count); }
      expect(fromClasses).toEqual(count);
    }
  });

  it('band table sums and maxima; touched rows', () => {
    for (const { g, m } of cases) {
      const t = tilingOf(layerOf(g), m);
      const spans = naiveNest(g, m).filter((x) => x.k === 0 && x.n === 0).map((x) => x.in[1] - x.in[0]);
      expect(t.band.inRowsSum).toBe(spans.reduce((a, b) => a + b, 0));
      expect(t.band.inRowsMax).toBe(Math.max(...spans));
      const touched = new Set<number>();
      for (let oy = 0; oy < g.Ho; oy++) for (let ky = 0; ky < g.kh; ky++) { const y = oy * g.s - g.p + ky; if (y >= 0 && y < g.Hin) touched.add(y); }
      expect(touchedRows(g.Ho, g.kh, g.s, g.p, g.Hin)).toBe(touched.size);
    }
  });

  it('a cursor stops after the last tile', () => {
    const g = cases[0].g, t = tilingOf(layerOf(g), cases[0].m);
    const c = new TileCursor(t);
    let n = 0;
    while (c.next()) n++;
    expect(n).toBe(t.tiles);
    expect(c.next()).toBe(false);
  });
});

describe('the search\'s closed forms equal the tile walk on real layers', () => {
  const nets = ['bireal18-imagenet', 'xnornet18-imagenet', 'bireal-mnist'];
  for (const preset of ['edge', 'baseline-mac', 'scalesim-compat']) {
    it(`${preset}: dramBytesOf = evaluate()'s DRAM bytes, computeLowerBound = sum of tile compute + post-op`, () => {
      const arch = loadArch(preset);
      let checked = 0;
      for (const net of nets) {
        const layers = buildLayers(lower(shapeOnlyModel(resolveNetwork(BUILTIN_WORKLOADS[net]()))));
        for (const l of layers) {
          const ctx = layerContext(l, arch);
          const cands = candidateMappings(ctx).filter((m) => feasibility(ctx, m).ok);
          // every 23rd feasible candidate and the last (keeps the test short; the candidates vary in every dimension)
          for (const m of cands.filter((_, i) => i % 23 === 0 || i === cands.length - 1)) {
            const ev = evaluate(ctx, m, true);
            expect(dramBytesOf(ctx, m), `${net} ${l.id} ${JSON.stringify(m)}`).toBe(ev.counts.dramReadBytes + ev.counts.dramWriteBytes);
            const walked = ev.trace!.reduce((a, x) => a + x.computeCycles + x.postOpCycles, 0);
            // the lower bound leaves out the XNOR-Net K map (post-op cycles of window layers)
            if (l.actWindow) expect(computeLowerBound(ctx, tilingOf(l, m))).toBeLessThanOrEqual(walked);
            else expect(computeLowerBound(ctx, tilingOf(l, m)), `${net} ${l.id} ${JSON.stringify(m)}`).toBe(walked);
            checked++;
          }
        }
      }
      expect(checked).toBeGreaterThan(60);
    });
  }
});

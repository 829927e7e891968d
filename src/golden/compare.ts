/**
 * Layer-by-layer comparison of two runs of the same ExecPlan structure (golden vs simulator, golden vs a
 * golden run of another copy of the model). Integer accumulators and packed bits are compared exactly;
 * fp32 outputs bitwise (Object.is, so -0 != +0 and NaN == NaN) unless a tolerance is given. The first
 * divergence is named by step, tensor kind, channel and position.
 */
import type { ExecPlan } from './plan.ts';
import type { Tap } from './run.ts';

export interface Divergence {
  step: string;
  layers: string[];
  what: 'acc' | 'bits' | 'real' | 'missing';
  /** output coordinate (NHWC, batch excluded) */
  y: number; x: number; c: number;
  a: number; b: number;
}

export interface StepComparison { step: string; layers: string[]; compared: number; mismatches: number; maxAbsDiff: number }
export interface Comparison { agree: boolean; steps: StepComparison[]; first?: Divergence }

const same = (a: number, b: number, tol: number) => (tol > 0 ? Math.abs(a - b) <= tol * (1 + Math.abs(b)) : Object.is(a, b));

export function compareTaps(plan: ExecPlan, A: Map<string, Tap>, B: Map<string, Tap>, opts: { realTolerance?: number } = {}): Comparison {
  const tol = opts.realTolerance ?? 0;
  const steps: StepComparison[] = [];
  let first: Divergence | undefined;
  for (const s of plan.steps) {
    const ta = A.get(s.id), tb = B.get(s.id);
    const row: StepComparison = { step: s.id, layers: s.layers, compared: 0, mismatches: 0, maxAbsDiff: 0 };
    steps.push(row);
    const { w, c } = s.out;
    const coord = (i: number) => ({ y: Math.floor(i / (w * c)), x: Math.floor(i / c) % w, c: i % c });
    const note = (what: Divergence['what'], i: number, a: number, b: number) => {
      row.mismatches++;
      if (!first) first = { step: s.id, layers: s.layers, what, ...coord(i), a, b };
    };
    if (!ta || !tb) { note('missing', 0, NaN, NaN); continue; }
    if (ta.acc || tb.acc) {
      if (!ta.acc || !tb.acc || ta.acc.length !== tb.acc.length) { note('missing', 0, NaN, NaN); continue; }
      for (let i = 0; i < ta.acc.length; i++) { row.compared++; if (ta.acc[i] !== tb.acc[i]) note('acc', i, ta.acc[i], tb.acc[i]); }
    }
    if (ta.bits || tb.bits) {
      if (!ta.bits || !tb.bits) { note('missing', 0, NaN, NaN); continue; }
      const wpp = ta.bits.wordsPerPixel;
      for (let p = 0; p < ta.bits.h * ta.bits.w; p++) for (let ch = 0; ch < ta.bits.c; ch++) {
        const ba = (ta.bits.words[p * wpp + (ch >>> 5)] >>> (ch & 31)) & 1;
        const bb = (tb.bits.words[p * wpp + (ch >>> 5)] >>> (ch & 31)) & 1;
        row.compared++;
        if (ba !== bb) note('bits', p * ta.bits.c + ch, ba, bb);
      }
    }
    if (ta.real || tb.real) {
      if (!ta.real || !tb.real || ta.real.data.length !== tb.real.data.length) { note('missing', 0, NaN, NaN); continue; }
      const da = ta.real.data, db = tb.real.data;
      for (let i = 0; i < da.length; i++) {
        row.compared++;
        const d = Math.abs(da[i] - db[i]);
        if (d > row.maxAbsDiff) row.maxAbsDiff = d;
        if (!same(da[i], db[i], tol)) note('real', i, da[i], db[i]);
      }
    }
  }
  return { agree: !first, steps, first };
}

export function describeDivergence(d: Divergence): string {
  const what = d.what === 'acc' ? 'integer accumulator' : d.what === 'bits' ? 'packed sign bit' : d.what === 'real' ? 'fp32 output' : 'tap';
  return `first divergence at step '${d.step}' (layers ${d.layers.join('+')}): ${what} at (y=${d.y}, x=${d.x}, channel=${d.c}): ${d.a} vs ${d.b}`;
}

/**
 * The headline every report form opens with: what was run and on what, the few numbers that matter, and the
 * verdict. It is read, not recomputed: every number is the text of a cell of the report's own tables
 * (render.ts reportTables, found by table id, row and column header), so the headline can never disagree
 * with the tables under it. The verdict compares those same section values (ratios, differences).
 *
 * Invariants: a pure function of the Report; at most MAX_FACTS facts, in the order train, verify, cost,
 * simulation, formats, sweep (the order a reader follows a model from training to silicon), except that a
 * comparison of two or more simulations (the report's point) comes before the cost; a missing table
 * cell is an internal error (a renamed column must fail the tests, not print "undefined").
 */
import type { Report, SimulationSection } from './schema.ts';
import { cell, type Table } from './table.ts';

export interface Fact { label: string; value: string; detail?: string }
export interface Headline { what: string; facts: Fact[]; verdict: string; status: 'pass' | 'fail' | 'info' }

export const MAX_FACTS = 5;

/** The text of a table cell: table `id`, row index (negative counts from the end), column header. */
export function cellText(tables: Table[], id: string, row: number, header: string): string {
  const t = tables.find((x) => x.id === id);
  if (!t) throw new Error(`headline: no table '${id}'`);
  const c = t.headers.indexOf(header);
  const r = t.rows[row < 0 ? t.rows.length + row : row];
  if (c < 0 || !r) throw new Error(`headline: table '${id}' has no cell (${row}, '${header}')`);
  return cell(r[c]);
}

const simName = (s: SimulationSection) => `${s.network} @ ${s.arch}`;
const ratio = (a: number, b: number) => `${(a / b).toFixed(1)}x`;
const list = (xs: string[]) => (xs.length <= 2 ? xs.join(' and ') : `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`);

export function buildHeadline(r: Report, tables: Table[]): Headline {
  const what: string[] = [], facts: Fact[] = [], verdicts: string[] = [];
  let status: Headline['status'] = 'info';
  const T = (id: string, row: number, header: string) => cellText(tables, id, row, header);

  (r.train ?? []).forEach((t, i) => {
    const stages = [...new Set(t.epochs.map((e) => `${e.stageKind}`))];
    what.push(`trained ${t.epochs.length} epoch${t.epochs.length > 1 ? 's' : ''} (stages: ${stages.join(', ')}; ${t.input})`);
    const last = t.epochs.map((e, k) => (e.testAccuracy !== undefined ? k : -1)).filter((k) => k >= 0).pop();
    if (last !== undefined) {
      const e = t.epochs[last];
      const took = T(`train-${i}`, last, 'elapsed [min]');
      facts.push({ label: 'test accuracy after training', value: `${T(`train-${i}`, last, 'test accuracy [%]')}%`, detail: `stage ${e.stage} (${e.stageKind}) epoch ${e.epoch}, whole test set${took !== '-' ? `; trained in ${took} min` : ''}` });
    }
  });

  if (r.verify?.length) {
    r.verify.forEach((v, i) => {
      what.push(`bit-exact verification of ${v.model}${v.images !== undefined ? ` on ${v.images} images` : ''}`);
      const result = T('verify', i, 'result');
      const exact = v.checks?.find((c) => /functional simulator/.test(c.check));
      facts.push({ label: 'verification', value: result, detail: exact ? `${exact.check}: ${exact.result}` : `${T('verify', i, 'steps per image')} steps compared${v.detail ? `; ${v.detail}` : ''}` });
      // a verification-only report: also what was compared, bit for bit
      if (!r.train?.length && !r.cost && !r.simulations?.length) facts.push({ label: 'compared per image, bit for bit', value: `${T('verify', i, 'steps per image')} steps`, detail: `on ${T('verify', i, 'images')} images; ${v.checks?.length ?? 1} checks` });
      const acc = T('verify', i, 'accuracy (golden)');
      if (acc !== '-' && !r.train?.length) facts.push({ label: 'accuracy (golden model)', value: acc, detail: `on the ${v.images ?? v.accuracy?.samples} verified images` });
      const bad = v.checks?.filter((c) => !c.pass) ?? [];
      if (!v.match) {
        status = 'fail';
        verdicts.push(`FAIL: ${bad.length ? bad.map((c) => `${c.check}: ${c.result}`).join('; ') : 'outputs diverge'}${v.firstDivergence ? `; first divergence at ${v.firstDivergence.layer}` : ''}`);
      } else {
        if (status !== 'fail') status = 'pass';
        verdicts.push(`PASS: ${exact ? `the deployable model is bit-exact on the accelerator (${exact.result})` : `bit-exact over ${v.layersCompared} steps`}${v.checks ? `, and all ${v.checks.length} checks hold` : ''}`);
      }
    });
  }

  // a comparison of several simulations is the report's point: its facts and verdict go before the cost's
  const simsFirst = (r.simulations?.length ?? 0) >= 2;
  const costAt = facts.length, costVerdictAt = verdicts.length;
  const c = r.cost;
  if (c) {
    what.push(`cost model (convention '${c.convention}') on ${list(c.networks.map((n) => n.name))}`);
    const first = c.networks[0];
    const others = c.networks.slice(1).filter((n) => n.bops > 0);
    const mem = (k: number) => T('cost', k, 'memory [Mbit]');
    const idx = (n: typeof first) => c.networks.indexOf(n);
    if (first.paper) {
      facts.push({ label: `${first.name} memory`, value: `${mem(0)} Mbit`, detail: `paper ${T('cost', 0, 'paper memory [Mbit]')}; full precision ${T('cost', 0, 'full precision [Mbit]')}; saving ${T('cost', 0, 'saving [x]')}x (paper ${T('cost', 0, 'paper saving [x]')}x)` });
      facts.push({ label: `${first.name} operations`, value: `${T('cost', 0, 'OPs')} OPs`, detail: `paper ${T('cost', 0, 'paper OPs')}; speed-up ${T('cost', 0, 'speed-up [x]')}x (paper ${T('cost', 0, 'paper speed-up [x]')}x)` });
      // the binary network that saves the most memory, when it is not the first
      const most = c.networks.filter((n) => n.bops > 0).sort((x, y) => y.memorySaving - x.memorySaving)[0];
      if (most && most !== first) {
        const k = idx(most);
        facts.push({ label: `largest saving: ${most.name}`, value: `${T('cost', k, 'saving [x]')}x`, detail: `memory ${mem(k)} Mbit (paper ${T('cost', k, 'paper memory [Mbit]')}); speed-up ${T('cost', k, 'speed-up [x]')}x (paper ${T('cost', k, 'paper speed-up [x]')}x)` });
      }
    } else {
      facts.push({ label: `${first.name} memory`, value: `${mem(0)} Mbit`, detail: others.length ? `beside ${others.map((n) => `${n.name} ${mem(idx(n))} Mbit`).join(', ')}` : `full precision ${T('cost', 0, 'full precision [Mbit]')} Mbit` });
      if (r.simulations?.length === undefined) facts.push({ label: `${first.name} operations`, value: `${T('cost', 0, 'OPs')} OPs`, detail: others.map((n) => `${n.name} ${T('cost', idx(n), 'OPs')}`).join(', ') });
    }
    const printed = c.networks.filter((n) => n.paper);
    if (!first.paper && others.length) {
      // networks with the same ratio (as printed) share one clause
      const byRatio = new Map<string, string[]>();
      for (const n of others) byRatio.set(ratio(n.memoryMbit, first.memoryMbit), [...(byRatio.get(ratio(n.memoryMbit, first.memoryMbit)) ?? []), n.name]);
      verdicts.push(`${first.name} takes ${list([...byRatio].map(([x, names]) => `${x} less memory than ${list(names)}`))}, at ${ratio(others[0].ops, first.ops)} fewer OPs than ${others[0].name}`);
    } else if (printed.length) {
      const dev = (a: number, b: number) => Math.abs(a - b) / b;
      const worstMem = Math.max(...printed.map((n) => dev(n.memoryMbit, n.paper!.memoryMbit)));
      const worstOps = Math.max(...printed.map((n) => dev(n.ops, n.paper!.ops)));
      verdicts.push(`the cost model matches the paper's Table 5: memory within ${(100 * worstMem).toFixed(1)}% and OPs within ${(100 * worstOps).toFixed(1)}% on all ${printed.length} printed networks`);
    }
  }

  const sims = r.simulations ?? [];
  const costFacts = simsFirst ? facts.splice(costAt) : [], costVerdicts = simsFirst ? verdicts.splice(costVerdictAt) : [];
  if (sims.length) {
    what.push(`simulated ${list(sims.map(simName))}`);
    const row = (k: number, h: string) => T('sim-summary', k, h);
    if (sims.length === 1) {
      facts.push({ label: `latency on ${sims[0].arch}`, value: `${row(0, 'latency [ms]')} ms`, detail: `${row(0, 'latency [cycles]')} cycles at ${row(0, 'clock [MHz]')} MHz; ${row(0, 'throughput [frames/s]')} frames/s` });
      facts.push({ label: 'energy per frame', value: `${row(0, 'energy [mJ]')} mJ`, detail: `DRAM traffic ${row(0, 'DRAM traffic [MB]')} MB${row(0, 'area [mm^2]') !== '-' ? `; area ${row(0, 'area [mm^2]')} mm^2` : ''}` });
    } else {
      facts.push({ label: 'latency per frame [ms]', value: sims.map((s, k) => `${row(k, 'latency [ms]')}`).join(' / '), detail: sims.map(simName).join(' / ') });
      facts.push({ label: 'energy per frame [mJ]', value: sims.map((s, k) => `${row(k, 'energy [mJ]')}`).join(' / '), detail: 'same order' });
      facts.push({ label: 'DRAM traffic per frame [MB]', value: sims.map((s, k) => `${row(k, 'DRAM traffic [MB]')}`).join(' / '), detail: 'same order' });
      const best = [...sims].sort((a, b) => a.latencySeconds - b.latencySeconds)[0];
      const worst = [...sims].sort((a, b) => b.latencySeconds - a.latencySeconds)[0];
      if (best !== worst) verdicts.push(`${simName(best)} is ${ratio(worst.latencySeconds, best.latencySeconds)} faster than ${simName(worst)} and uses ${ratio(worst.energyJoules, best.energyJoules)} ${best.energyJoules <= worst.energyJoules ? 'less' : 'more'} energy per frame`);
    }
    if (sims.length === 1) {
      const s = sims[0];
      const stall = s.layers.reduce((a, l) => a + l.stallCycles, 0);
      verdicts.push(`${simName(s)}: ${row(0, 'latency [ms]')} ms per frame, ${stall > 0 ? `${(100 * stall / s.latencyCycles).toFixed(0)}% of the cycles are memory stalls` : 'no memory stall'}`);
    }
  }

  facts.push(...costFacts);
  verdicts.push(...costVerdicts);

  (r.formats ?? []).forEach((f, i) => {
    what.push(`${f.points.length} real-valued stream formats of ${f.network} on ${f.baseArch} (${f.dataset})`);
    const id = `formats-${i}`;
    const k32 = f.points.findIndex((p) => p.format === 'fp32');
    const ref = k32 >= 0 ? k32 : f.points.reduce((b, p, k) => (p.bits > f.points[b].bits ? k : b), 0);
    const fact = (k: number, label: string) => facts.push({ label, value: `${T(id, k, 'accuracy [%]')}% at ${T(id, k, 'energy [uJ / frame]')} uJ`, detail: `golden = simulator: ${T(id, k, 'golden = simulator')}; DRAM ${T(id, k, 'DRAM [B / frame]')} B per frame` });
    fact(ref, `${f.points[ref].format} (reference)`);
    const r0 = f.points[ref];
    // the cheapest format within 0.1 points of the reference's accuracy
    const keep = f.points.map((p, k) => ({ p, k })).filter(({ p }) => p.energyJoules !== undefined && r0.energyJoules !== undefined && p.accuracy >= r0.accuracy - 0.001)
      .sort((a, b) => a.p.energyJoules! - b.p.energyJoules! || a.p.bits - b.p.bits)[0];
    if (keep && keep.k !== ref) {
      fact(keep.k, `${keep.p.format}, cheapest within 0.1 points`);
      verdicts.push(`${keep.p.format} keeps ${r0.format}'s accuracy within 0.1 points (${T(id, keep.k, 'accuracy [%]')}% vs ${T(id, ref, 'accuracy [%]')}%) at ${(100 * (1 - keep.p.energyJoules! / r0.energyJoules!)).toFixed(0)}% less energy per frame`);
    } else verdicts.push(`no narrower format keeps ${r0.format}'s accuracy within 0.1 points at lower energy`);
    const worst = f.points.map((p, k) => ({ p, k })).sort((a, b) => a.p.accuracy - b.p.accuracy)[0];
    if (worst.k !== ref && worst.p.accuracy < r0.accuracy - 0.001) fact(worst.k, `${worst.p.format}, least accurate`);
  });

  (r.sweeps ?? []).forEach((sw, i) => {
    what.push(`design-space sweep '${sw.name}' of ${sw.workload}: ${sw.totalPoints} points (${sw.axes.length} axes)`);
    const id = `sweep-${i}`;
    const t = tables.find((x) => x.id === id)!;
    const argmin = (h: string) => t.rows.reduce((b, _, k) => (Number(cellValue(t, k, h)) < Number(cellValue(t, b, h)) ? k : b), 0);
    // the front's size is the row count of the front table
    facts.push({ label: 'points on the Pareto front', value: `${t.rows.length}`, detail: `of ${sw.evaluated} evaluated (${sw.infeasible} infeasible); objectives: latency, energy per frame, area` });
    if (t.rows.length) {
      const fast = argmin('latency [ms]'), frugal = argmin('energy [mJ / frame]'), small = argmin('area [mm^2]');
      facts.push({ label: 'fastest front point', value: `${T(id, fast, 'latency [ms]')} ms`, detail: `point ${T(id, fast, 'point')}: ${T(id, fast, 'energy [mJ / frame]')} mJ, ${T(id, fast, 'area [mm^2]')} mm^2` });
      facts.push({ label: 'least energy on the front', value: `${T(id, frugal, 'energy [mJ / frame]')} mJ`, detail: `point ${T(id, frugal, 'point')}: ${T(id, frugal, 'latency [ms]')} ms, ${T(id, frugal, 'area [mm^2]')} mm^2` });
      facts.push({ label: 'smallest front point', value: `${T(id, small, 'area [mm^2]')} mm^2`, detail: `point ${T(id, small, 'point')}: ${T(id, small, 'latency [ms]')} ms, ${T(id, small, 'energy [mJ / frame]')} mJ` });
      verdicts.push(`${t.rows.length} of ${sw.evaluated - sw.infeasible} feasible points are Pareto-optimal; the front spans ${T(id, fast, 'latency [ms]')}-${T(id, argmax(t, 'latency [ms]'), 'latency [ms]')} ms per frame`);
    }
  });

  return {
    what: what.length ? `${what.join('; ')}.` : 'No inputs.',
    facts: facts.slice(0, MAX_FACTS),
    // clauses joined with ';' (a clause may start with a network name, which keeps its case)
    verdict: verdicts.length ? `${verdicts.join('; ')}.` : 'No verdict: the inputs carry no check or comparison.',
    status,
  };
}

/** The raw value of a cell (a Num's value, else its text), for ordering rows. */
function cellValue(t: Table, row: number, header: string): number | string {
  const v = t.rows[row][t.headers.indexOf(header)];
  return typeof v === 'object' ? v.value : v;
}
function argmax(t: Table, h: string): number {
  return t.rows.reduce((b, _, k) => (Number(cellValue(t, k, h)) > Number(cellValue(t, b, h)) ? k : b), 0);
}

/** The headline as plain-text lines (terminal and Markdown forms share the wording). */
export function headlineLines(h: Headline): { what: string; facts: string[]; verdict: string } {
  return { what: h.what, facts: h.facts.map((f) => `${f.label}: ${f.value}${f.detail ? ` (${f.detail})` : ''}`), verdict: h.verdict };
}

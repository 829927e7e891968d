/**
 * Builds a Report from input documents (already read and hashed by the CLI). Each document is classified
 * by what it declares ("kind": "cost" | "simulate" | "verify" | "formats", or a sweep JSONL header) and validated
 * field by field: a malformed input is a UserError naming the file, the JSON path and a hint.
 *
 * Invariants: sections appear in a fixed order whatever the input order of different kinds; within a kind
 * the command-line order is kept; configs are deduplicated by (kind, name).
 */
import { UserError } from '../core/diagnostics.ts';
import {
  REPORT_SCHEMA, type CostNetwork, type CostSection, type Report, type ReportConfig, type ReportInput,
  type SimLayerRow, type SimulationSection, type SweepSection, type VerifySection, type FormatsSection, type FormatPoint,
  type TrainSection, type TrainEpoch,
} from './schema.ts';
import { parseSweepText, summariseSweep, SWEEP_SCHEMA } from './sweep-file.ts';
import { resolveAnyArch } from '../sim/dataflow-arch.ts';

export interface InputDoc { name: string; sha256: string; text: string }

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Field reader that reports JSON paths. */
export class Reader {
  constructor(readonly file: string, readonly hint: string) {}
  err(path: string, msg: string, hint = this.hint): UserError { return new UserError('E_INPUT', msg, { file: this.file, path, hint }); }
  obj(v: unknown, path: string): Json { if (!isObj(v)) throw this.err(path, `expected an object, got ${short(v)}`); return v; }
  arr(v: unknown, path: string): unknown[] { if (!Array.isArray(v)) throw this.err(path, `expected an array, got ${short(v)}`); return v; }
  num(v: unknown, path: string): number { if (typeof v !== 'number' || !Number.isFinite(v)) throw this.err(path, `expected a finite number, got ${short(v)}`); return v; }
  nonneg(v: unknown, path: string): number { const n = this.num(v, path); if (n < 0) throw this.err(path, `expected a number >= 0, got ${n}`); return n; }
  str(v: unknown, path: string): string { if (typeof v !== 'string') throw this.err(path, `expected a string, got ${short(v)}`); return v; }
  bool(v: unknown, path: string): boolean { if (typeof v !== 'boolean') throw this.err(path, `expected true or false, got ${short(v)}`); return v; }
  optNum(v: unknown, path: string): number | undefined { return v === undefined || v === null ? undefined : this.num(v, path); }
}
function short(v: unknown): string { const s = JSON.stringify(v); return s === undefined ? 'nothing' : s.length > 40 ? s.slice(0, 37) + '...' : s; }

export function parseJsonDoc(doc: InputDoc): unknown {
  try { return JSON.parse(doc.text); } catch (e) {
    throw new UserError('E_JSON', `invalid JSON: ${(e as Error).message}`, { file: doc.name, path: '$', hint: 'inputs are files written by `birealsim cost|simulate|verify --json` or `birealsim sweep`' });
  }
}

/** What an input declares itself to be. */
export function classify(doc: InputDoc): { kind: ReportInput['kind']; declared: string; value: unknown } {
  const first = doc.text.slice(0, doc.text.indexOf('\n') >>> 0 || doc.text.length);
  if (first.includes(SWEEP_SCHEMA)) return { kind: 'sweep', declared: SWEEP_SCHEMA, value: undefined };
  if (isTrainMetrics(first)) return { kind: 'train', declared: 'train metrics.jsonl', value: undefined };
  const v = parseJsonDoc(doc);
  const hint = 'give a JSON file written by `birealsim cost --json`, `simulate --json`, `verify --json`, `formats --json`, a sweep .jsonl or a training run\'s metrics.jsonl';
  if (!isObj(v)) throw new UserError('E_INPUT', `expected a JSON object, got ${short(v)}`, { file: doc.name, path: '$', hint });
  const kind = v.kind;
  if (kind === 'cost' || kind === 'simulate' || kind === 'verify' || kind === 'formats') return { kind, declared: `kind: ${kind}`, value: v };
  throw new UserError('E_INPUT', `unknown input kind ${short(kind)}`, { file: doc.name, path: '$.kind', hint });
}

// ------------------------------------------------------------------ cost

function costSection(r: Reader, v: Json): { section: CostSection; config: ReportConfig } {
  const conv = r.obj(v.convention, '$.convention');
  const name = r.str(conv.name, '$.convention.name');
  const text = r.arr(v.conventionText ?? [], '$.conventionText').map((x, i) => r.str(x, `$.conventionText[${i}]`));
  const paper = v.paper === undefined ? {} : r.obj(v.paper, '$.paper');
  const networks: CostNetwork[] = r.arr(v.networks, '$.networks').map((n, i) => {
    const p = `$.networks[${i}]`;
    const o = r.obj(n, p);
    const t = r.obj(o.totals, `${p}.totals`);
    const f = (k: string) => r.nonneg(t[k], `${p}.totals.${k}`);
    const netName = r.str(o.name, `${p}.name`);
    const row: CostNetwork = {
      name: netName, binaryWeights: f('binaryWeights'), realParams: f('realParams'), memoryMbit: f('memoryMbit'), fpMemoryMbit: f('fpMemoryMbit'),
      bops: f('bops'), realMacs: f('realMacs'), ops: f('ops'), fpMacs: f('fpMacs'), memorySaving: f('memorySaving'), speedup: f('speedup'),
    };
    const pr = paper[netName];
    if (pr !== undefined) {
      const q = r.obj(pr, `$.paper.${netName}`);
      row.paper = { memoryMbit: r.num(q.memoryMbit, `$.paper.${netName}.memoryMbit`), ops: r.num(q.ops, `$.paper.${netName}.ops`), printedOps: r.str(q.printedOps, `$.paper.${netName}.printedOps`) };
      if (q.saving !== undefined) row.paper.saving = r.num(q.saving, `$.paper.${netName}.saving`);
      if (q.speedup !== undefined) row.paper.speedup = r.num(q.speedup, `$.paper.${netName}.speedup`);
    }
    return row;
  });
  const bopsPerOp = conv.bopsPerOp === undefined ? 64 : r.num(conv.bopsPerOp, '$.convention.bopsPerOp');
  return { section: { convention: name, conventionText: text, bopsPerOp, networks }, config: { name, kind: 'cost-convention', value: conv } };
}

// ------------------------------------------------------------------ simulate


/**
 * Reads `birealsim simulate --json` (kind "simulate", sim/simulate.ts SimResult): {network, arch (resolved),
 * layers: [{id, kind, executesOn, cycles: {compute, postOp, sramStall, dramStall, fillDrain, total}, bops,
 * macs, utilisation, dramBytesTotal, energyTotalJ}], totals: {cycles, latencyMs, framesPerSecond,
 * energyPerFrameJ, energyJ: {component: J}, dramBytes}}; or several of them under "results"/"networks".
 * Stall = SRAM-bandwidth stall + DRAM stall. An infeasible simulation (totals null) becomes a note.
 */
function simSections(r: Reader, v: Json, input: string, notes: string[]): { sections: SimulationSection[]; configs: ReportConfig[]; verify: VerifySection[]; seeds: number[] } {
  const listKey = Array.isArray(v.results) ? 'results' : Array.isArray(v.networks) ? 'networks' : undefined;
  const nets = listKey ? (v[listKey] as unknown[]) : [v];
  const configs: ReportConfig[] = [];
  const sections: SimulationSection[] = [];
  const verify: VerifySection[] = [];
  const seeds: number[] = [];
  nets.forEach((n, i) => {
    const p = listKey ? `$.${listKey}[${i}]` : '$';
    const o = r.obj(n, p);
    const network = r.str(o.network ?? o.name, `${p}.network`);
    const archRaw = r.obj(o.arch ?? v.arch, `${p}.arch`);
    const archName = r.str(archRaw.name, `${p}.arch.name`);
    configs.push({ name: archName, kind: 'arch', value: archRaw });
    // seeded random weights/input are recorded by the simulate command as source.weights "random (seed N)"
    const src = o.source ?? v.source;
    const sm = src && typeof (src as Json).weights === 'string' ? /seed (\d+)/.exec((src as Json).weights as string) : null;
    if (sm) seeds.push(Number(sm[1]));
    // functional simulation verified against the golden model (simulate --functional --verify)
    const fn = o.functional;
    if (fn !== undefined && fn !== null && r.obj(fn, `${p}.functional`).verified !== undefined) {
      const f = fn as Json;
      const mm = r.arr(f.mismatches ?? [], `${p}.functional.mismatches`);
      const vs: VerifySection = {
        input, model: src && typeof (src as Json).path === 'string' ? `${network} (${(src as Json).path})` : network,
        match: r.bool(f.verified, `${p}.functional.verified`) && mm.length === 0,
        layersCompared: r.nonneg(f.stepsChecked, `${p}.functional.stepsChecked`),
        detail: `functional simulation on '${archName}' vs the golden model: ${f.stepsChecked} step outputs and ${f.accumulatorsChecked ?? 0} accumulator tensors compared bit for bit; logits sha256 ${String(f.logitsSha256 ?? '-').slice(0, 16)}`,
      };
      if (mm.length) {
        const m = r.obj(mm[0], `${p}.functional.mismatches[0]`);
        vs.firstDivergence = { layer: `${r.str(m.layer, `${p}.functional.mismatches[0].layer`)} (step ${m.step}, ${m.what}, tile ${m.tile})`, index: m.coordinate as number[], expected: String(m.expected), actual: String(m.got) };
      }
      verify.push(vs);
    }
    if (o.totals === null || o.feasible === false) {
      const why = Array.isArray(o.infeasible) ? (o.infeasible as Json[]).map((x) => `${x.layer}: ${x.reason}`).join('; ') : 'no totals';
      notes.push(`${input}: ${network} on ${archName} is infeasible (${why}); no simulation section`);
      return;
    }
    const clockHz = r.num(archRaw.clockHz, `${p}.arch.clockHz`);
    const pe = r.obj(archRaw.peArray, `${p}.arch.peArray`);
    const dram = r.obj(archRaw.dram, `${p}.arch.dram`);
    const buffers = r.obj(archRaw.buffers, `${p}.arch.buffers`);
    const ru = r.obj(archRaw.realUnit, `${p}.arch.realUnit`);
    const onChipBytes = Object.entries(buffers).reduce((a, [k, b]) => a + r.nonneg(r.obj(b, `${p}.arch.buffers.${k}`).capacityBytes, `${p}.arch.buffers.${k}.capacityBytes`), 0);
    const rows = r.num(pe.rows, `${p}.arch.peArray.rows`), cols = r.num(pe.cols, `${p}.arch.peArray.cols`);
    const lanes = pe.type === 'xnor' ? r.num(pe.laneBits, `${p}.arch.peArray.laneBits`) : 1;
    const t = r.obj(o.totals, `${p}.totals`);
    const layers: SimLayerRow[] = r.arr(o.layers, `${p}.layers`).map((l, j) => {
      const q = `${p}.layers[${j}]`;
      const x = r.obj(l, q);
      const cyc = r.obj(x.cycles, `${q}.cycles`);
      const c = (k: string) => r.nonneg(cyc[k], `${q}.cycles.${k}`);
      const bops = r.nonneg(x.bops, `${q}.bops`), macs = r.nonneg(x.realMacs, `${q}.realMacs`);
      return {
        name: r.str(x.id, `${q}.id`), op: r.str(x.op, `${q}.op`), executesAs: r.str(x.executesOn, `${q}.executesOn`),
        computeCycles: c('compute'), stallCycles: c('sramStall') + c('dramStall'), fillDrainCycles: c('fillDrain'), postOpCycles: c('postOp'), totalCycles: c('total'),
        macs: bops + macs, opBits: r.nonneg(x.operandBits, `${q}.operandBits`), dramBytes: r.nonneg(x.dramBytesTotal, `${q}.dramBytesTotal`),
        utilisation: r.nonneg(x.utilisation, `${q}.utilisation`), energyJoules: r.nonneg(x.energyTotalJ, `${q}.energyTotalJ`),
      };
    });
    const eb = r.obj(t.energyJ, `${p}.totals.energyJ`);
    const energyByComponent: Record<string, number> = {};
    for (const k of Object.keys(eb).sort()) energyByComponent[k] = r.nonneg(eb[k], `${p}.totals.energyJ.${k}`);
    sections.push({
      // a run with fusion or a batch is labelled with them (two runs of one net on one arch must stay apart)
      input, network, arch: runLabel(archName, o.fusion, o.batch), clockHz,
      peakMacsPerCycle: rows * cols * lanes, realPeakMacsPerCycle: r.num(ru.macsPerCycle, `${p}.arch.realUnit.macsPerCycle`), realOnPeArray: ru.onPeArray === true,
      dramBytesPerCycle: r.num(dram.bytesPerCycle, `${p}.arch.dram.bytesPerCycle`),
      latencyCycles: r.nonneg(t.cycles, `${p}.totals.cycles`), latencySeconds: r.nonneg(t.latencyMs, `${p}.totals.latencyMs`) / 1e3,
      framesPerSecond: r.nonneg(t.framesPerSecond, `${p}.totals.framesPerSecond`),
      energyJoules: r.nonneg(t.energyPerFrameJ, `${p}.totals.energyPerFrameJ`),
      // per frame, like the energy (equal to the total at batch 1; results older than --batch have no per-frame field)
      dramBytes: t.dramBytesPerFrame !== undefined ? r.nonneg(t.dramBytesPerFrame, `${p}.totals.dramBytesPerFrame`) : r.nonneg(t.dramBytes, `${p}.totals.dramBytes`), onChipBytes,
      ...(o.area !== undefined ? { areaMm2: r.nonneg(r.obj(o.area, `${p}.area`).totalMm2, `${p}.area.totalMm2`) } : {}),
      energyByComponent, layers, definitions: {},
    });
    const defs = o.definitions ?? v.definitions;
    if (defs !== undefined) {
      const d = r.obj(defs, `${p}.definitions`);
      for (const k of Object.keys(d).sort()) sections[sections.length - 1].definitions[k] = r.str(d[k], `${p}.definitions.${k}`);
    }
  });
  return { sections, configs, verify, seeds };
}

// ------------------------------------------------------------------ verify

/** Reads `birealsim verify --json` output (src/cli/verify.ts VerifyResult). */
/**
 * Reads `birealsim verify --json` (kind "verify", cli/verify.ts VerifyResult): model {path, sha256, kind,
 * network}, inputs {source, images}, golden {accuracy?, stepsPerImage}, simulator? {arch, bitExactImages,
 * images, firstMismatch?}, reference? {path, bitExactImages, images, firstText?}, trainer {predictionAgreement,
 * maxLogitDiff, signBitAgreement, signLayers, signBits?, signBitsDiffering?}, torch? {predictionAgreement, maxLogitDiff} | {skipped}, pass.
 */
function verifySection(r: Reader, v: Json, input: string): { section: VerifySection; seed?: number; arch?: string } {
  const m = r.obj(v.model, '$.model');
  const ins = r.obj(v.inputs, '$.inputs');
  const g = r.obj(v.golden, '$.golden');
  const images = r.nonneg(ins.images, '$.inputs.images');
  const pc = (x: number) => `${(100 * x).toFixed(2)}%`;
  const checks: NonNullable<VerifySection['checks']> = [];
  let first: VerifySection['firstDivergence'];
  let arch: string | undefined;
  if (v.simulator !== undefined) {
    const s = r.obj(v.simulator, '$.simulator');
    arch = r.str(s.arch, '$.simulator.arch');
    const ok = r.nonneg(s.bitExactImages, '$.simulator.bitExactImages'), n = r.nonneg(s.images, '$.simulator.images');
    checks.push({ check: `golden vs functional simulator on '${arch}' (every layer, bit for bit)`, result: `bit-exact on ${ok}/${n} images`, pass: ok === n });
    if (typeof s.firstMismatch === 'string') first ??= { layer: s.firstMismatch };
  }
  if (v.reference !== undefined) {
    const s = r.obj(v.reference, '$.reference');
    const ok = r.nonneg(s.bitExactImages, '$.reference.bitExactImages'), n = r.nonneg(s.images, '$.reference.images');
    checks.push({ check: `golden(file) vs golden(reference ${r.str(s.path, '$.reference.path')})`, result: `bit-exact on ${ok}/${n} images`, pass: ok === n });
    if (typeof s.firstText === 'string') first ??= { layer: s.firstText };
  }
  const t = r.obj(v.trainer, '$.trainer');
  checks.push({ check: 'golden vs trainer float forward', result: `predictions agree ${pc(r.nonneg(t.predictionAgreement, '$.trainer.predictionAgreement'))}, max |logit diff| ${r.nonneg(t.maxLogitDiff, '$.trainer.maxLogitDiff').toExponential(2)}, sign bits agree ${pc(r.nonneg(t.signBitAgreement, '$.trainer.signBitAgreement'))}${t.signBitsDiffering !== undefined ? ` (${r.nonneg(t.signBitsDiffering, '$.trainer.signBitsDiffering')} of ${r.nonneg(t.signBits, '$.trainer.signBits')} differ)` : ''} over ${t.signLayers} sign layers`, pass: true });
  if (v.torch !== undefined) {
    const s = r.obj(v.torch, '$.torch');
    if (typeof s.skipped === 'string') checks.push({ check: 'golden vs PyTorch', result: `skipped: ${s.skipped}`, pass: true });
    else checks.push({ check: 'golden vs PyTorch', result: `predictions agree ${pc(r.nonneg(s.predictionAgreement, '$.torch.predictionAgreement'))}, max |logit diff| ${r.nonneg(s.maxLogitDiff, '$.torch.maxLogitDiff').toExponential(2)}`, pass: true });
  }
  const section: VerifySection = {
    input, model: `${r.str(m.network, '$.model.network')} (${r.str(m.kind, '$.model.kind')}, ${r.str(m.path, '$.model.path')}, sha256 ${String(m.sha256).slice(0, 12)})`,
    match: r.bool(v.pass, '$.pass'), layersCompared: r.nonneg(g.stepsPerImage, '$.golden.stepsPerImage'), images,
    detail: `inputs: ${r.str(ins.source, '$.inputs.source')}`, checks,
  };
  const acc = r.optNum(g.accuracy, '$.golden.accuracy');
  if (acc !== undefined) section.accuracy = { golden: acc, samples: images };
  if (first) section.firstDivergence = first;
  const sm = /seed (\d+)/.exec(String(ins.source));
  return { section, seed: sm ? Number(sm[1]) : undefined, arch };
}

// ------------------------------------------------------------------ formats

/**
 * Reads `birealsim formats --json` (kind "formats", cli/formats.ts FormatsResult): model {path, sha256, kind,
 * network, weights}, dataset {source, images}, baseArch {name}, formats: [{format {name, bits}, arch,
 * accuracy {accuracy, images, agreementWithFp32, changedVsFp32, maxAbsLogitDiffVsFp32}, sim {feasible,
 * latencyMs?, energyPerFrameJ?, dramBytes?, realStreamSramBytes? {totalBytes}, infeasible?}, bitExact {images,
 * bitExactImages, firstMismatch?} | {skipped}}], archs: [resolved arch], notes: [string].
 */
function formatsSection(r: Reader, v: Json, input: string): { section: FormatsSection; archs: ReportConfig[]; seed?: number } {
  const m = r.obj(v.model, '$.model');
  const d = r.obj(v.dataset, '$.dataset');
  const ba = r.obj(v.baseArch, '$.baseArch');
  const frac = (x: unknown, path: string) => { const n = r.nonneg(x, path); if (n > 1) throw r.err(path, `expected a fraction in [0, 1], got ${n}`); return n; };
  const points: FormatPoint[] = r.arr(v.formats, '$.formats').map((f, i) => {
    const p = `$.formats[${i}]`;
    const o = r.obj(f, p);
    const fm = r.obj(o.format, `${p}.format`);
    const a = r.obj(o.accuracy, `${p}.accuracy`);
    const sim = r.obj(o.sim, `${p}.sim`);
    const be = r.obj(o.bitExact, `${p}.bitExact`);
    const pt: FormatPoint = {
      format: r.str(fm.name, `${p}.format.name`), bits: r.nonneg(fm.bits, `${p}.format.bits`), arch: r.str(o.arch, `${p}.arch`),
      accuracy: frac(a.accuracy, `${p}.accuracy.accuracy`), images: r.nonneg(a.images, `${p}.accuracy.images`),
      agreementWithFp32: frac(a.agreementWithFp32, `${p}.accuracy.agreementWithFp32`), changedVsFp32: r.nonneg(a.changedVsFp32, `${p}.accuracy.changedVsFp32`),
      maxAbsLogitDiffVsFp32: r.nonneg(a.maxAbsLogitDiffVsFp32, `${p}.accuracy.maxAbsLogitDiffVsFp32`),
      bitExact: '', bitExactPass: null,
    };
    if (r.bool(sim.feasible, `${p}.sim.feasible`)) {
      pt.latencySeconds = r.nonneg(sim.latencyMs, `${p}.sim.latencyMs`) / 1e3;
      pt.energyJoules = r.nonneg(sim.energyPerFrameJ, `${p}.sim.energyPerFrameJ`);
      pt.dramBytes = r.nonneg(sim.dramBytes, `${p}.sim.dramBytes`);
      pt.realStreamSramBytes = r.nonneg(r.obj(sim.realStreamSramBytes, `${p}.sim.realStreamSramBytes`).totalBytes, `${p}.sim.realStreamSramBytes.totalBytes`);
    }
    if (be.skipped !== undefined) pt.bitExact = `skipped (${r.str(be.skipped, `${p}.bitExact.skipped`)})`;
    else {
      const ok = r.nonneg(be.bitExactImages, `${p}.bitExact.bitExactImages`), n = r.nonneg(be.images, `${p}.bitExact.images`);
      pt.bitExactPass = ok === n;
      pt.bitExact = `${ok}/${n} bit-exact${typeof be.firstMismatch === 'string' ? `; first mismatch ${be.firstMismatch}` : ''}`;
    }
    return pt;
  });
  if (points.length === 0) throw r.err('$.formats', 'expected at least one format');
  const archs = r.arr(v.archs ?? [], '$.archs').map((x, i) => { const o = r.obj(x, `$.archs[${i}]`); return { name: r.str(o.name, `$.archs[${i}].name`), kind: 'arch' as const, value: o }; });
  const notes = r.arr(v.notes ?? [], '$.notes').map((x, i) => r.str(x, `$.notes[${i}]`));
  const weights = typeof m.weights === 'string' ? m.weights : '';
  const sm = /seed (\d+)/.exec(weights);
  const section: FormatsSection = {
    input, network: r.str(m.network, '$.model.network'),
    model: `${r.str(m.path, '$.model.path')} (${r.str(m.kind, '$.model.kind')}${/random/.test(weights) ? `, weights ${weights}` : ''}, sha256 ${r.str(m.sha256, '$.model.sha256').slice(0, 12)})`,
    dataset: `${r.str(d.source, '$.dataset.source')} (${r.nonneg(d.images, '$.dataset.images')} images)`,
    baseArch: r.str(ba.name, '$.baseArch.name'), points, notes,
  };
  return { section, archs, seed: sm ? Number(sm[1]) : undefined };
}

// ------------------------------------------------------------------ train

/** A training run's metrics.jsonl (src/train/trainer.ts): its first line is one epoch record. */
function isTrainMetrics(firstLine: string): boolean {
  if (!firstLine.trimStart().startsWith('{')) return false;
  try {
    const o = JSON.parse(firstLine) as unknown;
    return isObj(o) && typeof o.stage === 'number' && typeof o.epoch === 'number' && 'train_loss' in o && 'stage_kind' in o;
  } catch { return false; }
}

/**
 * Reads `birealsim train`'s metrics.jsonl (src/train/trainer.ts): one record per epoch, {stage, stage_kind,
 * epoch, step, train_loss, train_acc, img_s, epoch_seconds, test_acc?, test_loss?, elapsed_seconds}. A run
 * resumed after a stop may repeat an epoch; the later record wins.
 */
function trainSection(doc: InputDoc): TrainSection {
  const r = new Reader(doc.name, 'this input is read as the metrics.jsonl of `birealsim train --out DIR`');
  const byKey = new Map<string, TrainEpoch>();
  doc.text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const p = `line ${i + 1}`;
    let v: unknown;
    try { v = JSON.parse(line); } catch (e) { throw r.err(p, `invalid JSON: ${(e as Error).message}`); }
    const o = r.obj(v, p);
    const frac = (x: unknown, q: string) => { const n = r.nonneg(x, q); if (n > 1) throw r.err(q, `expected a fraction in [0, 1], got ${n}`); return n; };
    const e: TrainEpoch = {
      stage: r.nonneg(o.stage, `${p}.stage`), stageKind: r.str(o.stage_kind, `${p}.stage_kind`), epoch: r.nonneg(o.epoch, `${p}.epoch`),
      trainLoss: r.nonneg(o.train_loss, `${p}.train_loss`), trainAccuracy: frac(o.train_acc, `${p}.train_acc`),
    };
    if (o.test_acc !== undefined) { e.testAccuracy = frac(o.test_acc, `${p}.test_acc`); e.testLoss = r.nonneg(o.test_loss, `${p}.test_loss`); }
    if (o.elapsed_seconds !== undefined) e.elapsedSeconds = r.nonneg(o.elapsed_seconds, `${p}.elapsed_seconds`);
    byKey.set(`${e.stage}/${e.epoch}`, e);
  });
  const epochs = [...byKey.values()].sort((a, b) => a.stage - b.stage || a.epoch - b.epoch);
  if (epochs.length === 0) throw r.err('line 1', 'expected at least one epoch record');
  return { input: doc.name, epochs };
}

// ------------------------------------------------------------------ assembly

export interface BuildOptions { title: string; toolVersion: string; seed?: number | null }

/** The arch label of a simulation: the arch's name, with the fusion mode and batch when they are not the defaults. */
export function runLabel(arch: string, fusion: unknown, batch: unknown): string {
  const extra = [...(fusion !== undefined && fusion !== 'none' ? [`fusion ${String(fusion)}`] : []), ...(typeof batch === 'number' && batch > 1 ? [`batch ${batch}`] : [])];
  return extra.length ? `${arch} (${extra.join(', ')})` : arch;
}

export function buildReport(docs: InputDoc[], opts: BuildOptions): Report {
  const report: Report = { schema: REPORT_SCHEMA, title: opts.title, tool: { name: 'birealsim', version: opts.toolVersion }, seed: null, inputs: [], configs: [], notes: [] };
  const seeds = new Set<number>();
  const addConfig = (c: ReportConfig) => { if (!report.configs.some((x) => x.kind === c.kind && x.name === c.name)) report.configs.push(c); };
  for (const doc of docs) {
    const { kind, declared, value } = classify(doc);
    const input: ReportInput = { name: doc.name, kind, sha256: doc.sha256, declared };
    const r = new Reader(doc.name, `this input is read as birealsim ${kind} output`);
    if (kind === 'train') {
      (report.train ??= []).push(trainSection(doc));
    } else if (kind === 'sweep') {
      const sf = parseSweepText(doc.text, doc.name);
      input.toolVersion = sf.header.toolVersion;
      if (sf.header.spec.seed !== undefined) seeds.add(sf.header.spec.seed);
      const sec: SweepSection = summariseSweep(sf, doc.name);
      (report.sweeps ??= []).push(sec);
      addConfig({ name: sf.header.spec.name, kind: 'sweep-spec', value: sf.header.spec });
      if (sf.header.baseArch) {
        // the base arch resolved (SI numbers, energy sources); each point = base + its params (sweep-spec axes)
        const label = `${sf.header.spec.name}: base ${(sf.header.baseArch as { name?: string }).name ?? 'arch'} (resolved; points patch it with their axis values)`;
        try { addConfig({ name: label, kind: 'arch', value: resolveAnyArch(sf.header.baseArch, `${doc.name} (header baseArch)`).arch }); } catch (e) {
          if (!(e instanceof UserError)) throw e;
          report.notes.push(`${doc.name}: the sweep's base arch no longer resolves (${e.message}); embedded as written`);
          addConfig({ name: label, kind: 'arch', value: sf.header.baseArch });
        }
      }
    } else {
      const v = value as Json;
      if (typeof v.version === 'string') input.toolVersion = v.version;
      if (typeof v.seed === 'number') seeds.add(v.seed);
      if (kind === 'cost') {
        const { section, config } = costSection(r, v);
        if (report.cost) report.notes.push(`cost input ${doc.name} replaces an earlier cost input (one cost section per report)`);
        report.cost = section;
        addConfig(config);
      } else if (kind === 'simulate') {
        const { sections, configs, verify, seeds: simSeeds } = simSections(r, v, doc.name, report.notes);
        if (sections.length) (report.simulations ??= []).push(...sections);
        if (verify.length) (report.verify ??= []).push(...verify);
        simSeeds.forEach((x) => seeds.add(x));
        configs.forEach(addConfig);
      } else if (kind === 'formats') {
        const fs = formatsSection(r, v, doc.name);
        (report.formats ??= []).push(fs.section);
        fs.archs.forEach(addConfig);
        if (fs.seed !== undefined) seeds.add(fs.seed);
      } else {
        const vs = verifySection(r, v, doc.name);
        (report.verify ??= []).push(vs.section);
        if (vs.seed !== undefined) seeds.add(vs.seed);
        addConfig({ name: doc.name, kind: 'verify', value: { model: v.model, inputs: v.inputs, arch: vs.arch ?? null } });
      }
    }
    report.inputs.push(input);
  }
  if (opts.seed !== undefined && opts.seed !== null) seeds.add(opts.seed);
  if (seeds.size === 1) report.seed = [...seeds][0];
  else if (seeds.size > 1) { report.seed = Math.min(...seeds); report.notes.push(`inputs used different seeds (${[...seeds].sort((a, b) => a - b).join(', ')}); the smallest is recorded as the report seed`); }
  const versions = new Set(report.inputs.map((i) => i.toolVersion).filter((x): x is string => !!x && x !== opts.toolVersion));
  if (versions.size) report.notes.push(`some inputs were produced by other tool versions: ${[...versions].join(', ')}`);
  return report;
}

/**
 * The Report object (schema "birealsim.report/1"): plain JSON, built once from the JSON documents other
 * commands produce (cost --json, simulate --json, sweep JSONL, verify --json, formats --json, train's metrics.jsonl), then rendered at the edge
 * into terminal text, JSON, CSV, Markdown and a self-contained HTML page (render.ts, html.ts).
 *
 * Invariants:
 *  - every section is optional: a report renders what is present; a chart whose input is absent is not
 *    drawn (the page says once, at its end, which inputs would add which charts), never drawn empty;
 *  - provenance is always present: tool version, seed (null when no input used randomness), every input's
 *    sha256, and the resolved configs the inputs were computed under (convention, architectures, sweep spec);
 *  - no timestamps: the same inputs give the same bytes in every form.
 * Follows design.md ("one Report object -> terminal/JSON/CSV/Markdown/HTML"; Vite-style resolved configs
 * echoed into the output).
 */

export const REPORT_SCHEMA = 'birealsim.report/1';

export type InputKind = 'cost' | 'simulate' | 'sweep' | 'verify' | 'formats' | 'train';

export interface ReportInput {
  /** as given on the command line (file path or built-in name) */
  name: string;
  kind: InputKind;
  /** sha256 of the input bytes (built-ins: of the JSON text they generate) */
  sha256: string;
  /** schema id / kind string the document declared */
  declared: string;
  /** tool version recorded in the input, when it records one */
  toolVersion?: string;
}

export interface ReportConfig { name: string; kind: 'cost-convention' | 'arch' | 'sweep-spec' | 'verify'; value: unknown }

/** One network's cost row, ours beside the paper's printed values (Liu et al. 2018, Table 5). */
export interface CostNetwork {
  name: string;
  binaryWeights: number;
  realParams: number;
  memoryMbit: number;
  fpMemoryMbit: number;
  bops: number;
  realMacs: number;
  ops: number;
  fpMacs: number;
  memorySaving: number;
  speedup: number;
  paper?: { memoryMbit: number; saving?: number; ops: number; speedup?: number; printedOps: string };
}
export interface CostSection { convention: string; conventionText: string[]; bopsPerOp: number; networks: CostNetwork[] }

/** Per-layer simulation row (cycles by cause sum to totalCycles). */
export interface SimLayerRow {
  name: string;
  /** the op (or fused group's first op) the layer executes, ops/index.ts */
  op: string;
  executesAs: string;
  computeCycles: number;
  stallCycles: number;
  fillDrainCycles: number;
  postOpCycles: number;
  totalCycles: number;
  /** MACs (1-bit MACs for xnor layers, real MACs otherwise) */
  macs: number;
  /** 1 = binary (XNOR-popcount), otherwise bits of the real operands */
  opBits: number;
  dramBytes: number;
  utilisation: number;
  energyJoules: number;
}
export interface SimulationSection {
  /** input it came from */
  input: string;
  network: string;
  arch: string;
  clockHz: number;
  /** peak MACs per cycle of the PE array (1-bit MACs on an xnor array) */
  peakMacsPerCycle: number;
  /** peak real MACs per cycle of the unit that runs real layers (stem, downsample, FC) */
  realPeakMacsPerCycle: number;
  /** real layers run on the PE array itself (full-precision MAC baseline) */
  realOnPeArray: boolean;
  dramBytesPerCycle: number;
  latencyCycles: number;
  latencySeconds: number;
  /** pipelined throughput, when the simulator reports one */
  framesPerSecond?: number;
  energyJoules: number;
  dramBytes: number;
  onChipBytes: number;
  /** total silicon area (the simulator's area.totalMm2), when the simulation result has one */
  areaMm2?: number;
  energyByComponent: Record<string, number>;
  layers: SimLayerRow[];
  /** the simulator's own definitions of the reported quantities (metric [unit] -> formula), when it gives them */
  definitions: Record<string, string>;
}

export const SWEEP_OBJECTIVES = ['latencySeconds', 'energyJoules', 'areaMm2'] as const;
export type SweepObjective = typeof SWEEP_OBJECTIVES[number];
export interface SweepPointSummary {
  index: number;
  params: Record<string, unknown>;
  latencySeconds: number;
  energyJoules: number;
  /** total silicon area, DRAM PHY excluded (sim/area.ts) */
  areaMm2: number;
  /** sum of buffer capacities (kept for readers of the earlier area proxy) */
  onChipBytes: number;
  /** member of the 3-objective (latency, energy, area) Pareto front */
  pareto: boolean;
}
export interface SweepSection {
  input: string;
  name: string;
  workload: string;
  specHash: string;
  axes: string[];
  totalPoints: number;
  evaluated: number;
  infeasible: number;
  /** a few infeasibility reasons with counts */
  infeasibleReasons: { reason: string; count: number }[];
  points: SweepPointSummary[];
}

export interface VerifySection {
  input: string;
  model: string;
  match: boolean;
  layersCompared: number;
  /** inputs (images) each check ran on */
  images?: number;
  firstDivergence?: { layer: string; index?: number | number[]; expected?: number | string; actual?: number | string };
  /** what was compared with what (e.g. functional simulation on an arch vs the golden model) */
  detail?: string;
  accuracy?: { golden?: number; reference?: number; samples?: number };
  /** individual checks as the verifier reported them */
  checks?: { check: string; result: string; pass: boolean }[];
}

/** One real-stream format: golden accuracy beside the simulated cost on the arch with that stream width. */
export interface FormatPoint {
  format: string;
  bits: number;
  /** derived arch the cost was simulated on */
  arch: string;
  accuracy: number;
  images: number;
  agreementWithFp32: number;
  changedVsFp32: number;
  maxAbsLogitDiffVsFp32: number;
  /** absent when the network does not map onto the derived arch */
  latencySeconds?: number;
  energyJoules?: number;
  dramBytes?: number;
  realStreamSramBytes?: number;
  /** golden vs functional simulator: "k/K bit-exact" or "skipped (...)" */
  bitExact: string;
  /** null when the check was skipped */
  bitExactPass: boolean | null;
}
/** `birealsim formats --json`: accuracy x cost per real-valued stream format. */
export interface FormatsSection {
  input: string;
  network: string;
  /** model path, kind and sha256 prefix */
  model: string;
  /** what the accuracy was measured on */
  dataset: string;
  baseArch: string;
  points: FormatPoint[];
  notes: string[];
}

/** One epoch of `birealsim train`'s metrics.jsonl (wall-clock fields other than elapsed time are not kept). */
export interface TrainEpoch {
  stage: number;
  /** the stage's name in the recipe ('real' = clip activations, 'binary' = 1-bit) */
  stageKind: string;
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  /** evaluated on the whole test set, when the trainer evaluated after this epoch */
  testAccuracy?: number;
  testLoss?: number;
  /** training time from the start of the run to the end of this epoch, as the trainer recorded it */
  elapsedSeconds?: number;
}
/** A training run: the per-epoch curve of `birealsim train` (metrics.jsonl in its --out directory). */
export interface TrainSection { input: string; epochs: TrainEpoch[] }

export interface Report {
  schema: typeof REPORT_SCHEMA;
  title: string;
  tool: { name: 'birealsim'; version: string };
  seed: number | null;
  inputs: ReportInput[];
  configs: ReportConfig[];
  cost?: CostSection;
  simulations?: SimulationSection[];
  sweeps?: SweepSection[];
  verify?: VerifySection[];
  formats?: FormatsSection[];
  train?: TrainSection[];
  notes: string[];
}

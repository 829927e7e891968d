/**
 * lower(model) -> ExecPlan: the single lowered description every consumer reads (golden run, cost model,
 * simulator, reports), so a report can never disagree with what executes.
 *
 * Decisions made here, per layer:
 *  - executes-as: 'xnor' for bconv (XNOR-popcount on packed bits), 'real' for everything else, 'pack' for
 *    sign (sign + bit-pack), so no layer silently stays float;
 *  - fusion: a bconv whose only consumer is a BN absorbs it (alpha and BN folded into mul/bias, see
 *    ir/deploy.ts); the fused step is named after the bconv and also answers for the BN's id;
 *  - pad mode per binary conv, from the IR.
 * Latent models are converted with toDeployable first, so lowering has one path.
 */
import type { Layer, PadMode, ResolvedNetwork, TensorInfo } from '../ir/types.ts';
import { toDeployable, bnScaleShift } from '../ir/deploy.ts';
import type { Model } from '../ir/model.ts';
import { FP32, type RealFormat } from '../core/realformat.ts';
import { foldedBnOf } from '../ir/model.ts';

export type ExecutesAs = 'xnor' | 'real' | 'pack';

interface StepBase {
  /** step id = id of the first IR layer it covers */
  id: string;
  /** IR layer ids covered (in order); the last one names the output tensor */
  layers: string[];
  /** names of input tensors (ids of producing layers, or "input") */
  inputs: string[];
  inShapes: TensorInfo[];
  out: TensorInfo;
  executesAs: ExecutesAs;
}

export interface XnorStep extends StepBase {
  kind: 'xnor';
  kernel: number; stride: number; pad: number; padMode: PadMode; cin: number; cout: number;
  weightBits: Uint32Array; mul: Float32Array; bias: Float32Array;
  /** the folded BN id, if any */
  foldedBn?: string;
}
export interface ConvStep extends StepBase { kind: 'conv'; kernel: number; stride: number; pad: number; cin: number; cout: number; weight: Float32Array; bias?: Float32Array }
export interface FcStep extends StepBase { kind: 'fc'; inFeatures: number; outFeatures: number; weight: Float32Array; bias?: Float32Array }
export interface BnStep extends StepBase { kind: 'bn'; scale: Float32Array; shift: Float32Array }
export interface SignStep extends StepBase { kind: 'sign' }
export interface AddStep extends StepBase { kind: 'add' }
export interface PoolStep extends StepBase { kind: 'avgpool' | 'maxpool'; kernel: number; stride: number; pad: number }
export interface GapStep extends StepBase { kind: 'gap' }
export interface ActScaleStep extends StepBase { kind: 'actscale'; kernel: number; stride: number; pad: number }
export interface ActStep extends StepBase { kind: 'relu' | 'clip' }

export type ExecStep = XnorStep | ConvStep | FcStep | BnStep | SignStep | AddStep | PoolStep | GapStep | ActScaleStep | ActStep;

export interface ExecPlan {
  name: string;
  net: ResolvedNetwork;
  steps: ExecStep[];
  /** tensor name (layer id) -> step that produces it */
  producer: Map<string, ExecStep>;
  input: TensorInfo;
  output: string;
  /** format every stored real tensor is rounded to (core/realformat.ts) */
  realFormat: RealFormat;
}

export interface LowerOptions { realFormat?: RealFormat }

/** Lowers a model (latent or deployable). */
export function lower(model: Model, opts: LowerOptions = {}): ExecPlan {
  const dep = toDeployable(model);
  const net = dep.net;
  const P = (name: string) => {
    const v = dep.params.get(name);
    if (!v) throw new Error(`lower: missing tensor ${name}`);
    return v;
  };
  const Pf = (name: string) => P(name) as Float32Array;
  const Po = (name: string) => dep.params.get(name) as Float32Array | undefined;
  const steps: ExecStep[] = [];
  const producer = new Map<string, ExecStep>();
  const absorbed = new Set<string>();
  for (const rl of net.layers) {
    const l: Layer = rl.layer;
    if (absorbed.has(l.id)) continue;
    const base = { id: l.id, layers: [l.id], inputs: rl.inputs, inShapes: rl.inShapes, out: rl.out };
    let step: ExecStep;
    switch (l.op) {
      case 'bconv': {
        const bn = foldedBnOf(net, l.id);
        if (bn) { absorbed.add(bn); base.layers = [l.id, bn]; base.out = net.byId.get(bn)!.out; }
        step = { ...base, kind: 'xnor', executesAs: 'xnor', kernel: l.kernel, stride: l.stride, pad: l.pad, padMode: l.padMode, cin: rl.inShapes[0].c, cout: l.outChannels,
          weightBits: P(`${l.id}.weight_bits`) as Uint32Array, mul: Pf(`${l.id}.mul`), bias: Pf(`${l.id}.bias`), foldedBn: bn };
        break;
      }
      case 'conv':
        step = { ...base, kind: 'conv', executesAs: 'real', kernel: l.kernel, stride: l.stride, pad: l.pad, cin: rl.inShapes[0].c, cout: l.outChannels, weight: Pf(`${l.id}.weight`), bias: l.bias ? Pf(`${l.id}.bias`) : undefined };
        break;
      case 'fc': {
        const s = rl.inShapes[0];
        step = { ...base, kind: 'fc', executesAs: 'real', inFeatures: s.h * s.w * s.c, outFeatures: l.outFeatures, weight: Pf(`${l.id}.weight`), bias: l.bias ? Po(`${l.id}.bias`) : undefined };
        break;
      }
      case 'bn': {
        const { scale, shift } = bnScaleShift(Pf(`${l.id}.gamma`), Pf(`${l.id}.beta`), Pf(`${l.id}.running_mean`), Pf(`${l.id}.running_var`), l.eps);
        step = { ...base, kind: 'bn', executesAs: 'real', scale, shift };
        break;
      }
      case 'sign': step = { ...base, kind: 'sign', executesAs: 'pack' }; break;
      case 'add': step = { ...base, kind: 'add', executesAs: 'real' }; break;
      case 'avgpool': case 'maxpool': step = { ...base, kind: l.op, executesAs: 'real', kernel: l.kernel, stride: l.stride, pad: l.pad }; break;
      case 'gap': step = { ...base, kind: 'gap', executesAs: 'real' }; break;
      case 'actscale': step = { ...base, kind: 'actscale', executesAs: 'real', kernel: l.kernel, stride: l.stride, pad: l.pad }; break;
      case 'relu': case 'clip': step = { ...base, kind: l.op, executesAs: 'real' }; break;
    }
    steps.push(step);
    for (const id of step.layers) producer.set(id, step);
  }
  return { name: net.workload.name, net, steps, producer, input: net.input, output: net.output, realFormat: opts.realFormat ?? FP32 };
}

/** Name of the tensor a step produces (its last covered layer). */
export function stepOutput(s: ExecStep): string { return s.layers[s.layers.length - 1]; }

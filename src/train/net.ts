/**
 * A trainable network built from the IR (ir/types.ts ResolvedNetwork): one forward/backward per IR layer,
 * each from its op module (src/ops, OpModule.train), with parameters stored under the latent model's tensor
 * names (`${layerId}.${param}`, ir/model.ts), so a TrainNet converts to and from a 'latent' Model without
 * renaming. This file owns what is not an op's: parameter initialisation by role, the saved contexts, the
 * gradient accumulation over the DAG, the recycling arenas and BN re-estimation.
 *
 * The same IR trains in different regimes (Bi-Real Net two-stage recipe, Liu et al. 2018, section 3.3;
 * ops/types.ts NetConfig):
 *  - signAs: what a binary activation layer computes. 'binary' (1-bit, pseudo-gradient per actGrad) or a real
 *    activation standing where sign will sit: 'clip' (hardtanh: clip init), 'relu' (ReLU init),
 *    'leaky-clip' (Caffe recipe), 'identity'.
 *  - bconvWeights: 'binary' -> W_b = alpha * sign(W) with the weightGrad estimator; 'real' -> a plain conv
 *    with the latent weights (stage 1).
 * Invariant: forward(training=true) must precede backward; each forward overwrites the saved contexts.
 */
import type { ResolvedNetwork, ResolvedLayer } from '../ir/types.ts';
import { latentParams, type Model } from '../ir/model.ts';
import { Rng } from '../core/rng.ts';
import { UserError } from '../core/diagnostics.ts';
import { Arena, bt, setArena, type BT } from '../kernels/batch.ts';
import * as ops from '../kernels/batch-ops.ts';
import { opOf } from '../ops/index.ts';
import type { NetConfig, SignAs, TrainCtx } from '../ops/types.ts';

export type { NetConfig, SignAs };
export const SIGN_AS: readonly SignAs[] = ['binary', 'clip', 'relu', 'leaky-clip', 'identity'];

export const BINARY_CONFIG: NetConfig = { signAs: 'binary', bconvWeights: 'binary', actGrad: 'approxsign', weightGrad: 'magnitude-aware' };


export class TrainNet {
  readonly net: ResolvedNetwork;
  cfg: NetConfig;
  /** every model tensor, including BN running statistics */
  readonly params = new Map<string, Float32Array>();
  /** gradients of the trainable tensors */
  readonly grads = new Map<string, Float32Array>();
  /** names of conv/fc weights (weight decay applies to these) */
  readonly weightNames: string[] = [];
  /** latent tensors clipped after each update in the binary regime (binary conv weights: to [-1, 1]) */
  readonly clipped: { name: string; limit: number }[] = [];
  private saved = new Map<string, Record<string, unknown>>();
  private outputs = new Map<string, BT>();
  /** per conv layer: im2col / dcols buffers reused across steps (ops.ConvScratch) */
  private scratch = new Map<string, ops.ConvScratch>();
  /** recycled activation/gradient buffers of a training step (kernels/batch.ts Arena): active during a training
   * forward and its backward, reset at the next training forward */
  private arena = new Arena();
  /** the same for inference forwards without taps (evaluation); the returned logits are a fresh copy */
  private evalArena = new Arena();
  /** cumulative BN statistics mode (re-estimation): step counter, or -1 for momentum updates */
  private bnCumulativeStep = -1;
  /** when set, accumulates milliseconds per `${op}.fwd|bwd` (profiling) */
  profile: Map<string, number> | null = null;

  constructor(net: ResolvedNetwork, cfg: NetConfig, seed = 1) {
    if (net.segmentInputs.size > 0) {
      const first = [...net.segmentInputs.keys()][0];
      throw new UserError('E_TRAIN', `network '${net.workload.name}' has independent segments (layers with their own "input" shape, e.g. '${first.slice('input:'.length)}'): it has no single input to train on`, { hint: 'such workloads (e.g. an imported SCALE-Sim topology) are for cost and simulate; train a network whose layers chain from "input"' });
    }
    this.net = net;
    this.cfg = cfg;
    const rng = new Rng(seed);
    // initial values by role (ops/types.ts ParamRole); only weights draw random numbers, in layer order
    for (const rl of net.layers) {
      for (const [p, spec] of Object.entries(latentParams(rl))) {
        const n = spec.shape.reduce((a, b) => a * b, 1);
        const a = new Float32Array(n);
        const name = `${rl.layer.id}.${p}`;
        if (spec.role === 'weight') {
          // N(0, gain/fan_in): He (gain 2) for convs, 1 for a linear output (the FC)
          const fanIn = spec.shape.slice(1).reduce((x, y) => x * y, 1);
          rng.fillNormal(a, Math.sqrt((spec.initGain ?? 2) / fanIn));
          this.weightNames.push(name);
        } else if (spec.role === 'gain' || spec.role === 'variance') a.fill(1);
        else if (spec.role === 'slope') a.fill(0.25);
        if (spec.clip !== undefined) this.clipped.push({ name, limit: spec.clip });
        this.params.set(name, a);
        if (spec.role !== 'mean' && spec.role !== 'variance') this.grads.set(name, new Float32Array(n));
      }
    }
  }

  trainableNames(): string[] { return [...this.grads.keys()]; }

  zeroGrad(): void { for (const g of this.grads.values()) g.fill(0); }

  /** Copies a latent model's tensors in (shapes were validated by loadModel against the same IR). */
  loadLatent(model: Model): void {
    if (model.kind !== 'latent') throw new Error('loadLatent: expected a latent model');
    for (const [name, arr] of this.params) {
      const src = model.params.get(name);
      if (!src || src.length !== arr.length) throw new Error(`loadLatent: tensor ${name} missing or wrong size`);
      arr.set(src as Float32Array);
    }
  }

  toLatent(meta: Record<string, string>): Model {
    const params = new Map<string, Float32Array>();
    for (const [k, v] of this.params) params.set(k, v.slice());
    return { kind: 'latent', net: this.net, params, meta };
  }

  private p(id: string, name: string): Float32Array { return this.params.get(`${id}.${name}`)!; }
  private sc(id: string): ops.ConvScratch {
    let s = this.scratch.get(id);
    if (!s) { s = {}; this.scratch.set(id, s); }
    return s;
  }
  private g(id: string, name: string): Float32Array { return this.grads.get(`${id}.${name}`)!; }

  /** Puts BN layers in cumulative-average mode (BN re-estimation): running stats are reset. */
  beginBnReestimation(): void {
    this.bnCumulativeStep = 0;
    for (const rl of this.net.layers) {
      for (const [p, spec] of Object.entries(latentParams(rl))) {
        if (spec.role === 'mean') this.p(rl.layer.id, p).fill(0);
        else if (spec.role === 'variance') this.p(rl.layer.id, p).fill(1);
      }
    }
  }
  endBnReestimation(): void { this.bnCumulativeStep = -1; }

  /** What a layer's op module sees of this network (ops/types.ts TrainCtx). */
  private ctx(rl: ResolvedLayer, training: boolean, bnBatchStats: boolean, bnMomentum: number, saved: Record<string, unknown>): TrainCtx {
    const id = rl.layer.id;
    return {
      cfg: this.cfg, training, bnBatchStats, bnMomentum, saved, needInputGrad: true,
      p: (name) => this.p(id, name), g: (name) => this.g(id, name), scratch: this.sc(id),
      inputDtype: (i) => (rl.inputs[i] === 'input' ? 'real' : this.net.byId.get(rl.inputs[i])!.out.dtype),
    };
  }

  /** Forward pass; returns the output tensor (logits). training=true saves what backward needs. */
  forward(x: BT, training: boolean, keepTaps = false): BT {
    if (!training && keepTaps) return this.forwardImpl(x, false, true);
    // an inference forward recycles its own arena (a training step's buffers stay intact) and returns a copy
    const arena = training ? this.arena : this.evalArena;
    arena.reset();
    const prev = setArena(arena);
    let out: BT;
    try { out = this.forwardImpl(x, training, keepTaps); } finally { setArena(prev); }
    if (training) return out;
    const copy = bt(out.n, out.h, out.w, out.c, out.data.slice());
    this.outputs.clear();
    this.outputs.set(this.net.output, copy);
    return copy;
  }

  private forwardImpl(x: BT, training: boolean, keepTaps: boolean): BT {
    this.outputs.clear();
    this.saved.clear();
    this.outputs.set('input', x);
    const bnMomentum = this.bnCumulativeStep >= 0 ? 1 / (this.bnCumulativeStep + 1) : ops.BN_MOMENTUM;
    // in re-estimation mode we run with batch statistics but do not keep contexts
    const bnTraining = training || this.bnCumulativeStep >= 0;
    for (const rl of this.net.layers) {
      const l = rl.layer;
      const xs = rl.inputs.map((s) => this.outputs.get(s)!);
      const tStart = this.profile ? performance.now() : 0;
      const saved: Record<string, unknown> = {};
      const y = opOf(l).train.forward(l, xs, this.ctx(rl, training, bnTraining, bnMomentum, saved));
      if (training) this.saved.set(l.id, saved);
      this.outputs.set(l.id, y);
      if (this.profile) this.profile.set(`${l.op}.fwd`, (this.profile.get(`${l.op}.fwd`) ?? 0) + performance.now() - tStart);
    }
    if (this.bnCumulativeStep >= 0) this.bnCumulativeStep++;
    const out = this.outputs.get(this.net.output)!;
    if (!training && !keepTaps) { this.outputs.clear(); this.outputs.set(this.net.output, out); }
    return out;
  }

  /** Backward from dL/d(output); accumulates parameter gradients into this.grads. */
  backward(dOut: BT): void {
    const prev = setArena(this.arena);
    try { this.backwardImpl(dOut); } finally { setArena(prev); }
  }

  private backwardImpl(dOut: BT): void {
    const grads = new Map<string, BT>();
    grads.set(this.net.output, dOut);
    const addGrad = (id: string, g: BT | null) => {
      if (!g || id === 'input') return;
      const prev = grads.get(id);
      if (!prev) { grads.set(id, g); return; }
      grads.set(id, ops.addForward(prev, g));
    };
    for (let li = this.net.layers.length - 1; li >= 0; li--) {
      const rl: ResolvedLayer = this.net.layers[li];
      const l = rl.layer;
      const dy = grads.get(l.id);
      if (!dy) continue;
      grads.delete(l.id);
      const needIn = rl.inputs.some((s) => s !== 'input');
      const tStart = this.profile ? performance.now() : 0;
      const xs = rl.inputs.map((n) => this.outputs.get(n)!);
      const c = this.ctx(rl, true, true, ops.BN_MOMENTUM, this.saved.get(l.id) ?? {});
      c.needInputGrad = needIn;
      opOf(l).train.backward(l, dy, xs, c).forEach((g, i) => addGrad(rl.inputs[i], g));
      if (this.profile) this.profile.set(`${l.op}.bwd`, (this.profile.get(`${l.op}.bwd`) ?? 0) + performance.now() - tStart);
    }
    this.saved.clear();
    this.outputs.clear();
  }

  /** Output of a layer from the last forward(training=true, or keepTaps=true) (for tests and taps); undefined after backward. */
  tap(id: string): BT | undefined { return this.outputs.get(id); }

  /** Clips latent tensors that declare a clip (binary conv weights to [-1, 1], Larq's latent-weight clipping). */
  clipBconvWeights(): void {
    for (const { name, limit } of this.clipped) { const w = this.params.get(name)!; for (let i = 0; i < w.length; i++) w[i] = w[i] > limit ? limit : w[i] < -limit ? -limit : w[i]; }
  }
}

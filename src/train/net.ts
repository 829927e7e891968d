/**
 * A trainable network built from the IR (ir/types.ts ResolvedNetwork): one forward/backward per IR layer,
 * parameters stored under the latent model's tensor names (`${layerId}.${param}`, ir/model.ts), so a
 * TrainNet converts to and from a 'latent' Model without renaming.
 *
 * The same IR trains in different regimes (Bi-Real Net two-stage recipe, Liu et al. 2018, section 3.3):
 *  - signAs: what an IR `sign` layer computes. 'sign' (1-bit, pseudo-gradient per actGrad) or a real
 *    activation standing where sign will sit: 'clip' (hardtanh: clip init), 'relu' (ReLU init),
 *    'leaky-clip' (Caffe recipe), 'identity'.
 *  - bconvWeights: 'binary' -> W_b = alpha * sign(W) with the weightGrad estimator; 'real' -> a plain conv
 *    with the latent weights (stage 1). Binary convs compute acc = conv(x, sign(W)) exactly (integers when
 *    x is +-1) and then y = alpha * acc, the same order as the deployed output transform.
 * Padding: a bconv pads with 0 for padMode 'zero' and with +1 for 'one' (core/bits.ts conventions).
 * Invariant: forward(training=true) must precede backward; each forward overwrites the saved contexts.
 */
import type { ResolvedNetwork, ResolvedLayer } from '../ir/types.ts';
import { paramShapes } from '../ir/types.ts';
import type { Model } from '../ir/model.ts';
import { Rng } from '../core/rng.ts';
import { Arena, bt, setArena, type BT } from '../kernels/batch.ts';
import * as ops from '../kernels/batch-ops.ts';
import {
  SIGN_QUANTIZERS, binaryWeightBackward, channelAlpha, signBackward, signForward, signWeights,
  type ActGrad, type WeightGrad,
} from './quantizers.ts';

export type SignAs = 'sign' | 'clip' | 'relu' | 'leaky-clip' | 'identity';
export const SIGN_AS: readonly SignAs[] = ['sign', 'clip', 'relu', 'leaky-clip', 'identity'];

export interface NetConfig {
  signAs: SignAs;
  bconvWeights: 'binary' | 'real';
  actGrad: ActGrad;
  weightGrad: WeightGrad;
}

export const BINARY_CONFIG: NetConfig = { signAs: 'sign', bconvWeights: 'binary', actGrad: 'approxsign', weightGrad: 'magnitude-aware' };

const POINTWISE: Record<string, ops.Pointwise> = { clip: ops.CLIP, relu: ops.RELU, 'leaky-clip': ops.LEAKY_CLIP };

interface Saved { [k: string]: unknown }

export class TrainNet {
  readonly net: ResolvedNetwork;
  cfg: NetConfig;
  /** every model tensor, including BN running statistics */
  readonly params = new Map<string, Float32Array>();
  /** gradients of the trainable tensors */
  readonly grads = new Map<string, Float32Array>();
  /** names of conv/fc weights (weight decay applies to these) */
  readonly weightNames: string[] = [];
  /** names of bconv latent weights (clipped to [-1, 1] in the binary regime) */
  readonly bconvWeightNames: string[] = [];
  private saved = new Map<string, Saved>();
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
    this.net = net;
    this.cfg = cfg;
    const rng = new Rng(seed);
    for (const rl of net.layers) {
      for (const [p, shape] of Object.entries(paramShapes(rl))) {
        const n = shape.reduce((a, b) => a * b, 1);
        const a = new Float32Array(n);
        const name = `${rl.layer.id}.${p}`;
        if (p === 'weight') {
          // He-normal (fan-in) for convs; N(0, 1/fan_in) for the FC (no ReLU after it)
          const fanIn = shape.slice(1).reduce((x, y) => x * y, 1);
          rng.fillNormal(a, rl.layer.op === 'fc' ? Math.sqrt(1 / fanIn) : Math.sqrt(2 / fanIn));
          this.weightNames.push(name);
          if (rl.layer.op === 'bconv') this.bconvWeightNames.push(name);
        } else if (p === 'gamma' || p === 'running_var') a.fill(1);
        this.params.set(name, a);
        if (p !== 'running_mean' && p !== 'running_var') this.grads.set(name, new Float32Array(n));
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
    for (const rl of this.net.layers) if (rl.layer.op === 'bn') { this.p(rl.layer.id, 'running_mean').fill(0); this.p(rl.layer.id, 'running_var').fill(1); }
  }
  endBnReestimation(): void { this.bnCumulativeStep = -1; }

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
      const x0 = xs[0];
      let y: BT;
      const tStart = this.profile ? performance.now() : 0;
      switch (l.op) {
        case 'conv': {
          const r = ops.conv2dForward(x0, this.p(l.id, 'weight'), l.outChannels, l, l.bias ? this.p(l.id, 'bias') : undefined, 0, this.sc(l.id));
          y = r.y; if (training) this.saved.set(l.id, { ctx: r.ctx });
          break;
        }
        case 'bconv': {
          const w = this.p(l.id, 'weight');
          const padValue = l.padMode === 'one' ? 1 : 0;
          if (this.cfg.bconvWeights === 'real') {
            const r = ops.conv2dForward(x0, w, l.outChannels, l, undefined, padValue, this.sc(l.id));
            y = r.y; if (training) this.saved.set(l.id, { ctx: r.ctx });
          } else {
            const scr = this.sc(l.id);
            const sw = scr.sw = signWeights(w, scr.sw);
            const alpha = l.weightScale === 'channel' ? channelAlpha(w, l.outChannels) : null;
            // +-1 inputs (a sign layer feeds this conv): XNOR-popcount gives the float GEMM's exact integers
            const pm1 = this.cfg.signAs === 'sign' && this.net.byId.get(rl.inputs[0])?.layer.op === 'sign';
            const r = ops.binaryConvForward(x0, sw, alpha, l.outChannels, l, padValue, pm1, scr, training);
            y = r.y;
            if (training) this.saved.set(l.id, { ctx: r.ctx, sw, alpha });
          }
          break;
        }
        case 'sign': {
          if (this.cfg.signAs === 'sign') y = signForward(x0);
          else if (this.cfg.signAs === 'identity') y = x0;
          else y = ops.pointwiseForward(x0, POINTWISE[this.cfg.signAs]);
          break;
        }
        case 'bn': {
          const bp: ops.BnParams = { gamma: this.p(l.id, 'gamma'), beta: this.p(l.id, 'beta'), runningMean: this.p(l.id, 'running_mean'), runningVar: this.p(l.id, 'running_var'), eps: l.eps };
          const r = ops.bnForward(x0, bp, bnTraining, bnMomentum);
          y = r.y; if (training) this.saved.set(l.id, { ctx: r.ctx });
          break;
        }
        case 'add': y = ops.addForward(x0, xs[1]); break;
        case 'maxpool': { const r = ops.maxPoolForward(x0, l); y = r.y; if (training) this.saved.set(l.id, { ctx: r.ctx }); break; }
        case 'avgpool': y = ops.avgPoolForward(x0, l).y; break;
        case 'gap': y = ops.gapForward(x0); break;
        case 'fc': {
          const r = ops.fcForward(x0, this.p(l.id, 'weight'), l.outFeatures, l.bias ? this.p(l.id, 'bias') : undefined);
          y = r.y; break;
        }
        case 'relu': y = ops.pointwiseForward(x0, ops.RELU); break;
        case 'clip': y = ops.pointwiseForward(x0, ops.CLIP); break;
        case 'actscale': { const r = ops.actScaleForward(x0, xs[1], l); y = r.y; if (training) this.saved.set(l.id, { ctx: r.ctx }); break; }
      }
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
      const x0 = this.outputs.get(rl.inputs[0])!;
      const needIn = rl.inputs.some((s) => s !== 'input');
      const sv = this.saved.get(l.id) as Saved | undefined;
      const tStart = this.profile ? performance.now() : 0;
      switch (l.op) {
        case 'conv': {
          const ctx = sv!.ctx as ops.ConvCtx;
          addGrad(rl.inputs[0], ops.conv2dBackward(dy, ctx, this.p(l.id, 'weight'), this.g(l.id, 'weight'), l.bias ? this.g(l.id, 'bias') : null, needIn, this.sc(l.id)));
          break;
        }
        case 'bconv': {
          const ctx = sv!.ctx as ops.ConvCtx;
          const w = this.p(l.id, 'weight');
          if (this.cfg.bconvWeights === 'real') {
            addGrad(rl.inputs[0], ops.conv2dBackward(dy, ctx, w, this.g(l.id, 'weight'), null, needIn, this.sc(l.id)));
          } else {
            const sw = sv!.sw as Float32Array, alpha = sv!.alpha as Float32Array | null;
            // W_b = alpha * sign(W); G = dL/dW_b = dy^T cols; dx = dy * W_b
            const scr = this.sc(l.id);
            const wb = scr.wb && scr.wb.length === sw.length ? scr.wb : (scr.wb = new Float32Array(sw.length));
            const k = sw.length / l.outChannels;
            for (let o = 0; o < l.outChannels; o++) { const a = alpha ? alpha[o] : 1; for (let i = o * k; i < (o + 1) * k; i++) wb[i] = a * sw[i]; }
            const G = scr.g && scr.g.length === sw.length ? scr.g.fill(0) : (scr.g = new Float32Array(sw.length));
            const dx = ops.conv2dBackward(dy, ctx, wb, G, null, needIn, this.sc(l.id));
            binaryWeightBackward(G, w, alpha, l.outChannels, this.cfg.weightGrad, this.g(l.id, 'weight'));
            addGrad(rl.inputs[0], dx);
          }
          break;
        }
        case 'sign': {
          if (this.cfg.signAs === 'sign') addGrad(rl.inputs[0], signBackward(dy, x0, SIGN_QUANTIZERS[this.cfg.actGrad]));
          else if (this.cfg.signAs === 'identity') addGrad(rl.inputs[0], dy);
          else addGrad(rl.inputs[0], ops.pointwiseBackward(dy, x0, POINTWISE[this.cfg.signAs]));
          break;
        }
        case 'bn':
          addGrad(rl.inputs[0], ops.bnBackward(dy, sv!.ctx as ops.BnCtx, this.p(l.id, 'gamma'), this.g(l.id, 'gamma'), this.g(l.id, 'beta')));
          break;
        case 'add': addGrad(rl.inputs[0], dy); addGrad(rl.inputs[1], dy); break;
        case 'maxpool': addGrad(rl.inputs[0], ops.maxPoolBackward(dy, sv!.ctx as ops.MaxPoolCtx)); break;
        case 'avgpool': addGrad(rl.inputs[0], ops.avgPoolBackward(dy, x0, l)); break;
        case 'gap': addGrad(rl.inputs[0], ops.gapBackward(dy, x0)); break;
        case 'fc':
          addGrad(rl.inputs[0], ops.fcBackward(dy, { x: x0 }, this.p(l.id, 'weight'), this.g(l.id, 'weight'), l.bias ? this.g(l.id, 'bias') : null, needIn));
          break;
        case 'relu': addGrad(rl.inputs[0], ops.pointwiseBackward(dy, x0, ops.RELU)); break;
        case 'clip': addGrad(rl.inputs[0], ops.pointwiseBackward(dy, x0, ops.CLIP)); break;
        case 'actscale': {
          const [da, db] = ops.actScaleBackward(dy, sv!.ctx as ops.ActScaleCtx);
          addGrad(rl.inputs[0], da); addGrad(rl.inputs[1], db);
          break;
        }
      }
      if (this.profile) this.profile.set(`${l.op}.bwd`, (this.profile.get(`${l.op}.bwd`) ?? 0) + performance.now() - tStart);
    }
    this.saved.clear();
    this.outputs.clear();
  }

  /** Output of a layer from the last forward(training=true, or keepTaps=true) (for tests and taps); undefined after backward. */
  tap(id: string): BT | undefined { return this.outputs.get(id); }

  /** Clips bconv latent weights to [-1, 1] (Larq's latent-weight clipping). */
  clipBconvWeights(): void {
    for (const n of this.bconvWeightNames) { const w = this.params.get(n)!; for (let i = 0; i < w.length; i++) w[i] = w[i] > 1 ? 1 : w[i] < -1 ? -1 : w[i]; }
  }
}

/**
 * `bconv`: binary convolution (Bi-Real Net, Liu et al. 2018; XNOR-Net, Rastegari et al. 2016): +-1 weights
 * times +-1 activations by XNOR-popcount, scaled per output channel by alpha_o = mean |W_o| (magnitude-aware,
 * `weightScale: 'channel'`) or 1 ('none'). Bit conventions are core/bits.ts's (bit 1 = -1, dot = K - 2*popcount).
 *
 * Spatial padding `padMode`: 'zero' = padded taps contribute nothing (the effective K counts in-bounds taps, as
 * a float conv on sign(x) zero-padded, the authors' PyTorch); 'one' = padded taps are +1 (LCE's fast mode).
 *
 * Deployment (the one definition of binarisation and BN folding): bit = signBit(W) (sign(0) = +1); the BN
 * that is the conv's sole consumer is absorbed: with s = gamma / sqrt(var + eps) (bn.ts bnScaleShift),
 *   BN(alpha*acc) = s*(alpha*acc - mean) + beta = (alpha*s)*acc + (beta - s*mean),
 * so mul = fp32(alpha*s), bias = shift; without a BN, mul = alpha and bias = 0. The output transform is
 * y = fp32(fp32(mul_c * acc) + bias_c) in that order (bit-exact with the simulator).
 *
 * Training: forward W_b = alpha * sign(W) with alpha constant in backward; with G = dL/dW_b the latent
 * gradient is 'magnitude-aware' (paper / Larq: alpha * G * 1{|W| < 1}) or 'plain' (authors' PyTorch code:
 * G * 1{|W| <= 1}); latent weights are clipped to [-1, 1]. In stage 1 ('real' weights) it is a plain conv padded with 0 ('zero') or +1 ('one').
 *
 * Counts: Ho*Wo*O*k*k*I BOPs (1-bit MACs, border taps included); O*k*k*I binary weights; one alpha per output
 * channel; in the full-precision counterpart the same conv with real weights and MACs.
 * Accelerator: the XNOR-popcount PE array; the output transform is a multiply and an add per output element
 * on the post-processing unit with 2 words (mul, bias) per channel.
 */
import { packRow, wordsFor } from '../core/bits.ts';
import { tensor, type PackedTensor, type Tensor } from '../core/tensor.ts';
import type { BinaryConvArgs, KernelSet } from '../kernels/types.ts';
import * as T from '../kernels/batch-ops.ts';
import { bnParamCounts, bnScaleShift, type BnLayer } from './bn.ts';
import { cachedSlice, channels, f32, rangeOf, windowLabel, windowOut, withShape, zeroCounts } from './common.ts';
import type { ExecStep, Layer, OpModule, ParamArray, ResolvedLayer, Value, WeightGrad } from './types.ts';

export interface BConvLayer extends Layer {
  op: 'bconv'; outChannels: number; kernel: number; stride: number; pad: number;
  padMode: 'zero' | 'one'; weightScale: 'channel' | 'none';
}
export interface BConvStep extends ExecStep {
  kernel: number; stride: number; pad: number; padMode: 'zero' | 'one'; cin: number; cout: number;
  /** packed weights [cout][kh][kw][wordsFor(cin)] */
  weightBits: Uint32Array; mul: Float32Array; bias: Float32Array;
  /** the absorbed BN's id, if any */
  foldedBn?: string;
}

/**
 * alpha_o = mean |W_o| over (kh, kw, Cin): the ONE definition, for training and deployment. The sum runs in
 * index order in float64 and is divided by n in float64, then rounded once to fp32. (Before this definition
 * deployment summed in fp32; a float64 sum of <= 2^29 fp32 values is much closer to the exact mean and does
 * not depend on the weights' magnitudes' spread, and it is what the trainer has always used.)
 */
export function channelAlpha(weight: Float32Array, cout: number): Float32Array {
  const n = weight.length / cout;
  const alpha = new Float32Array(cout);
  for (let o = 0; o < cout; o++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += Math.abs(weight[o * n + i]);
    alpha[o] = s / n;
  }
  return alpha;
}

export const WEIGHT_GRADS: readonly WeightGrad[] = ['magnitude-aware', 'plain'];

/** sign(W) as +-1 floats (into `out` when given: reused buffers avoid a multi-KB allocation per step). */
export function signWeights(w: Float32Array, out?: Float32Array): Float32Array {
  const s = out && out.length === w.length ? out : new Float32Array(w.length);
  for (let i = 0; i < w.length; i++) s[i] = w[i] < 0 ? -1 : 1;
  return s;
}

/**
 * Converts G = dL/dW_b into the latent-weight gradient and ADDS it to dW.
 * alpha may be null (weightScale 'none': alpha = 1).
 */
export function binaryWeightBackward(G: Float32Array, w: Float32Array, alpha: Float32Array | null, outCh: number, mode: WeightGrad, dW: Float32Array): void {
  const k = w.length / outCh;
  for (let o = 0; o < outCh; o++) {
    const a = mode === 'magnitude-aware' && alpha ? alpha[o] : 1;
    for (let i = o * k; i < (o + 1) * k; i++) {
      const m = mode === 'magnitude-aware' ? Math.abs(w[i]) < 1 : Math.abs(w[i]) <= 1;
      if (m) dW[i] += a * G[i];
    }
  }
}

/** Packs OHWI float weights into [O][kh][kw][words] sign bits. */
export function packWeights(weight: Float32Array, cout: number, kernel: number, cin: number): Uint32Array {
  const wpp = wordsFor(cin);
  const out = new Uint32Array(cout * kernel * kernel * wpp);
  for (let t = 0; t < cout * kernel * kernel; t++) packRow(weight, t * cin, cin, out, t * wpp);
  return out;
}

/** y = fp32(fp32(mul_c * acc) + bias_c): the output transform (alpha and BN folded). */
export function xnorOutputTransform(acc: Int32Array, mul: Float32Array, bias: Float32Array, h: number, w: number, c: number): Tensor {
  const out = tensor(h, w, c);
  const d = out.data;
  for (let p = 0, i = 0; p < h * w; p++) for (let o = 0; o < c; o++, i++) d[i] = f32(f32(mul[o] * acc[i]) + bias[o]);
  return out;
}

function convArgs(s: BConvStep, x: Value): BinaryConvArgs {
  if (!('words' in x)) throw new Error(`${s.id}: expected packed input`);
  return { input: x as PackedTensor, weightBits: s.weightBits, cout: s.cout, kernel: s.kernel, stride: s.stride, pad: s.pad, padMode: s.padMode, outH: s.out.h, outW: s.out.w };
}

/** The sole consumer when it is a BN reading this conv: folded at deployment. */
function foldableBn(rl: ResolvedLayer, byId: Map<string, ResolvedLayer>): string | undefined {
  if (rl.consumers.length !== 1) return undefined;
  const c = byId.get(rl.consumers[0])!;
  return c.layer.op === 'bn' && c.inputs[0] === rl.layer.id ? c.layer.id : undefined;
}

export const bconv: OpModule<BConvLayer, BConvStep> = {
  op: 'bconv',
  summary: 'binary convolution: XNOR-popcount of +-1 weights and activations, alpha per output channel',
  arity: 1,
  inputDtypes: ['bits'],
  keys: {
    outChannels: { type: 'int', min: 1, doc: 'output channels' },
    kernel: { type: 'int', min: 1, doc: 'square kernel size' },
    stride: { type: 'int', min: 1, default: 1, doc: 'stride' },
    pad: { type: 'int', min: 0, default: 0, doc: 'spatial padding on every side' },
    padMode: { type: 'enum', values: ['zero', 'one'], default: 'zero', doc: "'zero': padded taps contribute nothing; 'one': padded taps are +1" },
    weightScale: { type: 'enum', values: ['channel', 'none'], default: 'channel', doc: "'channel': alpha = mean |W| per output channel; 'none': alpha = 1" },
  },
  infer: (l, [x], fail) => ({ h: windowOut(l.kernel, l.stride, l.pad, x.h, 'height', fail), w: windowOut(l.kernel, l.stride, l.pad, x.w, 'width', fail), c: l.outChannels, dtype: 'real' }),
  params: (l, [x]) => ({ weight: { shape: [l.outChannels, l.kernel, l.kernel, x.c], role: 'weight', clip: 1 } }),
  binarises: true,
  deploy: {
    absorbs: (rl, net) => { const b = foldableBn(rl, net.byId); return b ? [b] : []; },
    tensors: (rl) => {
      const l = rl.layer as BConvLayer, O = l.outChannels;
      return { weight_bits: { shape: [O, l.kernel, l.kernel, wordsFor(rl.inShapes[0].c)], dtype: 'I32' }, mul: { shape: [O], dtype: 'F32' }, bias: { shape: [O], dtype: 'F32' } };
    },
    toDeployable: (rl, absorbed, get) => {
      const l = rl.layer as BConvLayer, O = l.outChannels;
      const w = get(`${l.id}.weight`) as Float32Array;
      const alpha = l.weightScale === 'channel' ? channelAlpha(w, O) : new Float32Array(O).fill(1);
      const out: Record<string, ParamArray> = { [`${l.id}.weight_bits`]: packWeights(w, O, l.kernel, rl.inShapes[0].c) };
      const b = absorbed[0] as ResolvedLayer<BnLayer> | undefined;
      if (b) {
        const g = (p: string) => get(`${b.layer.id}.${p}`) as Float32Array;
        const { scale, shift } = bnScaleShift(g('gamma'), g('beta'), g('running_mean'), g('running_var'), b.layer.eps);
        const mul = new Float32Array(O);
        for (let o = 0; o < O; o++) mul[o] = f32(alpha[o] * scale[o]);
        out[`${l.id}.mul`] = mul; out[`${l.id}.bias`] = shift;
      } else {
        out[`${l.id}.mul`] = alpha; out[`${l.id}.bias`] = new Float32Array(O);
      }
      return out;
    },
    // +-1 weights (so alpha = mean|W| = 1) and the folded BN as gamma = mul, beta = bias, mean = 0,
    // var = 1 - eps (so s = gamma / sqrt(var + eps) = mul up to rounding); without a BN the weights are
    // mul_o * (+-1), whose alpha is mul_o
    toLatent: (rl, absorbed, get) => {
      const l = rl.layer as BConvLayer, O = l.outChannels;
      const cin = rl.inShapes[0].c, wpp = wordsFor(cin), K = l.kernel * l.kernel;
      const bits = get(`${l.id}.weight_bits`) as Uint32Array, mul = get(`${l.id}.mul`) as Float32Array, bias = get(`${l.id}.bias`) as Float32Array;
      const b = absorbed[0] as ResolvedLayer<BnLayer> | undefined;
      const w = new Float32Array(O * K * cin);
      for (let o = 0; o < O; o++) {
        const mag = b ? 1 : mul[o];
        for (let t = 0; t < K; t++) for (let c = 0; c < cin; c++) {
          const bit = (bits[(o * K + t) * wpp + (c >>> 5)] >>> (c & 31)) & 1;
          w[(o * K + t) * cin + c] = bit ? -mag : mag;
        }
      }
      const out: Record<string, ParamArray> = { [`${l.id}.weight`]: w };
      if (b) {
        const id = b.layer.id;
        out[`${id}.gamma`] = new Float32Array(mul);
        out[`${id}.beta`] = new Float32Array(bias);
        out[`${id}.running_mean`] = new Float32Array(O);
        out[`${id}.running_var`] = new Float32Array(O).fill(1 - b.layer.eps);
      }
      return out;
    },
  },
  lower: (rl, P, absorbed) => {
    const l = rl.layer, bnl = absorbed[0];
    return {
      id: l.id, op: 'bconv', layers: bnl ? [l.id, bnl.layer.id] : [l.id], inputs: rl.inputs, inShapes: rl.inShapes, out: bnl ? bnl.out : rl.out,
      kernel: l.kernel, stride: l.stride, pad: l.pad, padMode: l.padMode, cin: rl.inShapes[0].c, cout: l.outChannels,
      weightBits: P(`${l.id}.weight_bits`) as Uint32Array, mul: P(`${l.id}.mul`) as Float32Array, bias: P(`${l.id}.bias`) as Float32Array, foldedBn: bnl?.layer.id,
    };
  },
  fusion: { postOp: false },
  executesAs: 'xnor',
  execute: (s, [x], k) => {
    const args = convArgs(s, x);
    if (k.ops?.xnorConv) return k.ops.xnorConv(args, s.mul, s.bias);
    const acc = k.binaryConv(args);
    return { out: xnorOutputTransform(acc, s.mul, s.bias, s.out.h, s.out.w, s.out.c), acc };
  },
  splitK: {
    partial: (s, [x], k: KernelSet) => k.binaryConv(convArgs(s, x)),
    finish: (s, acc) => xnorOutputTransform(acc, s.mul, s.bias, s.out.h, s.out.w, s.out.c),
  },
  // output channels [c0, c1) and, for a k-tile, the packed words of input channels [k0, k1) of every tap
  slice: (s, r) => {
    const kk = s.kernel * s.kernel, wpp = wordsFor(s.cin);
    const k0 = r.k0 ?? 0, k1 = r.k1 ?? s.cin, w0 = k0 >>> 5, w1 = wordsFor(k1), nt = r.c1 - r.c0;
    let weightBits: Uint32Array;
    if (w0 === 0 && w1 === wpp) weightBits = rangeOf(s.weightBits, r.c0 * kk * wpp, r.c1 * kk * wpp);
    else {
      const src = s.weightBits, twpp = w1 - w0, c0 = r.c0;
      weightBits = cachedSlice(src, `${c0}/${nt}/${w0}/${w1}/${kk}`, () => {
        const wt = new Uint32Array(nt * kk * twpp);
        for (let o = 0; o < nt; o++) for (let t = 0; t < kk; t++) { const a = ((c0 + o) * kk + t) * wpp; wt.set(src.subarray(a + w0, a + w1), (o * kk + t) * twpp); }
        return wt;
      }, (kept) => {
        for (let o = 0; o < nt; o++) for (let t = 0; t < kk; t++) {
          const a = ((c0 + o) * kk + t) * wpp, d = (o * kk + t) * twpp;
          for (let i = 0; i < twpp; i++) if (kept[d + i] !== src[a + w0 + i]) return false;
        }
        return true;
      });
    }
    return { ...s, inShapes: r.inShapes, out: withShape(s.out, r.outH, nt), cin: k1 - k0, cout: nt, weightBits, mul: channels(s.mul, r.c0, r.c1), bias: channels(s.bias, r.c0, r.c1) };
  },
  count: (s) => {
    const c = zeroCounts(), w = s.cout * s.kernel * s.kernel * s.cin;
    const bnp = s.foldedBn ? bnParamCounts(s.cout) : {};
    c.binaryWeights = w;
    c.bops = c.fpMacs = s.out.h * s.out.w * w;
    c.params = { alpha: s.cout, ...bnp };
    c.fpParams = { convWeight: w, ...bnp };
    return c;
  },
  workload: (s) => ({ unit: 'pe-array', binary: true, kh: s.kernel, kw: s.kernel, stride: s.stride, pad: s.pad, cin: s.cin, channelwise: false, ppu: { mul: 1, add: 1, cmp: 0 }, paramWordsPerChannel: 2 }),
  describe: (s) => ({ precision: 'w1 a1 -> int acc -> fp32 (mul,bias)', weightBytes: s.cout * s.kernel * s.kernel * wordsFor(s.cin) * 4, padMode: s.padMode, window: windowLabel(s.kernel, s.stride, s.pad) }),
  fast: { family: 'binary-conv' },
  train: {
    forward: (l, [x], c) => {
      const w = c.p('weight');
      const padValue = l.padMode === 'one' ? 1 : 0;
      if (c.cfg.bconvWeights === 'real') {
        const r = T.conv2dForward(x, w, l.outChannels, l, undefined, padValue, c.scratch);
        if (c.training) c.saved.ctx = r.ctx;
        return r.y;
      }
      const scr = c.scratch;
      const sw = scr.sw = signWeights(w, scr.sw);
      const alpha = l.weightScale === 'channel' ? channelAlpha(w, l.outChannels) : null;
      // +-1 inputs (a binary activation feeds this conv): XNOR-popcount gives the float GEMM's exact integers
      const pm1 = c.cfg.signAs === 'binary' && c.inputDtype(0) === 'bits';
      const r = T.binaryConvForward(x, sw, alpha, l.outChannels, l, padValue, pm1, scr, c.training);
      const y = r.y;
      if (c.training) Object.assign(c.saved, { ctx: r.ctx, sw, alpha });
      return y;
    },
    backward: (l, dy, _xs, c) => {
      const ctx = c.saved.ctx as T.ConvCtx;
      const w = c.p('weight');
      if (c.cfg.bconvWeights === 'real') return [T.conv2dBackward(dy, ctx, w, c.g('weight'), null, c.needInputGrad, c.scratch)];
      const sw = c.saved.sw as Float32Array, alpha = c.saved.alpha as Float32Array | null;
      // W_b = alpha * sign(W); G = dL/dW_b = dy^T cols; dx = dy * W_b
      const scr = c.scratch;
      const wb = scr.wb && scr.wb.length === sw.length ? scr.wb : (scr.wb = new Float32Array(sw.length));
      const k = sw.length / l.outChannels;
      for (let o = 0; o < l.outChannels; o++) { const a = alpha ? alpha[o] : 1; for (let i = o * k; i < (o + 1) * k; i++) wb[i] = a * sw[i]; }
      const G = scr.g && scr.g.length === sw.length ? scr.g.fill(0) : (scr.g = new Float32Array(sw.length));
      const dx = T.conv2dBackward(dy, ctx, wb, G, null, c.needInputGrad, scr);
      binaryWeightBackward(G, w, alpha, l.outChannels, c.cfg.weightGrad, c.g('weight'));
      return [dx];
    },
  },
};

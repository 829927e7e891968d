/**
 * Latent -> deployable conversion: the one definition of weight binarisation and BN folding, used by the
 * golden model's lowering of latent models and by `birealsim export`.
 *
 * Binary weights: bit = signBit(W) (sign(0) = +1); alpha_o = mean_i |W_o,i| (magnitude-aware scale, one per
 * output channel, Liu et al. 2018), or 1 when weightScale is 'none'.
 * BN folding (bireal-method.md section 4). With s = gamma / sqrt(var + eps), the BN after a binary conv is
 *   BN(alpha*acc) = s*(alpha*acc - mean) + beta = (alpha*s)*acc + (beta - s*mean),
 * so mul = alpha*s and bias = beta - s*mean. Every step is rounded to fp32 in this fixed order:
 *   t = fp32(var + eps); r = fp32(sqrt(t)); s = fp32(gamma / r); mul = fp32(alpha*s); bias = fp32(beta - fp32(s*mean)).
 * Real BN layers use the same s and shift = fp32(beta - fp32(s*mean)) (see bnScaleShift).
 */
import { packRow, wordsFor } from '../core/bits.ts';
import { foldedBnOf, type Model, type ParamArray } from './model.ts';

const f = Math.fround;

export function bnScaleShift(gamma: Float32Array, beta: Float32Array, mean: Float32Array, variance: Float32Array, eps: number): { scale: Float32Array; shift: Float32Array } {
  const n = gamma.length;
  const scale = new Float32Array(n), shift = new Float32Array(n);
  for (let c = 0; c < n; c++) {
    const s = f(gamma[c] / f(Math.sqrt(f(variance[c] + eps))));
    scale[c] = s;
    shift[c] = f(beta[c] - f(s * mean[c]));
  }
  return { scale, shift };
}

/** alpha per output channel: fp32(sum |W| accumulated in fp32, in index order) / n, rounded to fp32. */
export function channelAlpha(weight: Float32Array, cout: number): Float32Array {
  const n = weight.length / cout;
  const alpha = new Float32Array(cout);
  for (let o = 0; o < cout; o++) {
    let s = 0;
    for (let i = 0; i < n; i++) s = f(s + Math.abs(weight[o * n + i]));
    alpha[o] = f(s / n);
  }
  return alpha;
}

/** Packs OHWI float weights into [O][kh][kw][words] sign bits. */
export function packWeights(weight: Float32Array, cout: number, kernel: number, cin: number): Uint32Array {
  const wpp = wordsFor(cin);
  const out = new Uint32Array(cout * kernel * kernel * wpp);
  for (let t = 0; t < cout * kernel * kernel; t++) packRow(weight, t * cin, cin, out, t * wpp);
  return out;
}

export function toDeployable(model: Model): Model {
  if (model.kind === 'deployable') return model;
  const net = model.net;
  const params = new Map<string, ParamArray>();
  const skip = new Set<string>();
  for (const rl of net.layers) {
    const l = rl.layer;
    if (l.op !== 'bconv') continue;
    const w = model.params.get(`${l.id}.weight`) as Float32Array;
    const cin = rl.inShapes[0].c;
    params.set(`${l.id}.weight_bits`, packWeights(w, l.outChannels, l.kernel, cin));
    const alpha = l.weightScale === 'channel' ? channelAlpha(w, l.outChannels) : new Float32Array(l.outChannels).fill(1);
    const bnId = foldedBnOf(net, l.id);
    if (bnId) {
      skip.add(bnId);
      const g = (p: string) => model.params.get(`${bnId}.${p}`) as Float32Array;
      const eps = (net.byId.get(bnId)!.layer as { eps: number }).eps;
      const { scale, shift } = bnScaleShift(g('gamma'), g('beta'), g('running_mean'), g('running_var'), eps);
      const mul = new Float32Array(l.outChannels);
      for (let o = 0; o < l.outChannels; o++) mul[o] = f(alpha[o] * scale[o]);
      params.set(`${l.id}.mul`, mul);
      params.set(`${l.id}.bias`, shift);
    } else {
      params.set(`${l.id}.mul`, alpha);
      params.set(`${l.id}.bias`, new Float32Array(l.outChannels));
    }
  }
  for (const [name, v] of model.params) {
    const id = name.slice(0, name.lastIndexOf('.'));
    const op = net.byId.get(id)?.layer.op;
    if (op === 'bconv' || skip.has(id)) continue;
    params.set(name, v);
  }
  return { kind: 'deployable', net, params, meta: { ...model.meta } };
}

/**
 * A latent model that computes what a deployable model computes, for float (trainer / PyTorch) forward
 * passes of deployable files: bconv weights become +-1 (so alpha = mean|W| = 1) and a folded BN becomes
 * gamma = mul, beta = bias, mean = 0, var = 1 - eps (so s = gamma / sqrt(var + eps) = mul up to rounding).
 * A bconv without a folded BN (mul = alpha > 0, bias = 0) gets weights mul_o * (+-1), whose alpha is mul_o.
 */
export function latentEquivalent(model: Model): Model {
  if (model.kind === 'latent') return model;
  const net = model.net;
  const params = new Map<string, ParamArray>();
  const folded = new Set<string>();
  for (const rl of net.layers) {
    const l = rl.layer;
    if (l.op !== 'bconv') continue;
    const cin = rl.inShapes[0].c, wpp = wordsFor(cin), K = l.kernel * l.kernel;
    const bits = model.params.get(`${l.id}.weight_bits`) as Uint32Array;
    const mul = model.params.get(`${l.id}.mul`) as Float32Array, bias = model.params.get(`${l.id}.bias`) as Float32Array;
    const bnId = foldedBnOf(net, l.id);
    const w = new Float32Array(l.outChannels * K * cin);
    for (let o = 0; o < l.outChannels; o++) {
      const mag = bnId ? 1 : mul[o];
      for (let t = 0; t < K; t++) for (let c = 0; c < cin; c++) {
        const bit = (bits[(o * K + t) * wpp + (c >>> 5)] >>> (c & 31)) & 1;
        w[(o * K + t) * cin + c] = bit ? -mag : mag;
      }
    }
    params.set(`${l.id}.weight`, w);
    if (bnId) {
      folded.add(bnId);
      const eps = (net.byId.get(bnId)!.layer as { eps: number }).eps;
      params.set(`${bnId}.gamma`, new Float32Array(mul));
      params.set(`${bnId}.beta`, new Float32Array(bias));
      params.set(`${bnId}.running_mean`, new Float32Array(l.outChannels));
      params.set(`${bnId}.running_var`, new Float32Array(l.outChannels).fill(1 - eps));
    }
  }
  for (const [name, v] of model.params) {
    const id = name.slice(0, name.lastIndexOf('.'));
    if (net.byId.get(id)?.layer.op === 'bconv' || folded.has(id)) continue;
    params.set(name, v);
  }
  return { kind: 'latent', net, params, meta: { ...model.meta, 'latent.from': 'deployable (latentEquivalent)' } };
}

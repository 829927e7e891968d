/**
 * Optimisers and learning-rate schedules, in PyTorch's formulations (torch.optim.Adam / SGD):
 *  - Adam (Kingma & Ba 2015): g' = g + wd*w (coupled L2, as torch Adam's weight_decay);
 *    m = b1 m + (1-b1) g';  v = b2 v + (1-b2) g'^2;  w -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps).
 *  - SGD with momentum: g' = g + wd*w;  buf = mu*buf + g' (buf = g' at the first step);  w -= lr * buf.
 * Weight decay applies only to the names passed in `decayed` (conv/fc weights), never to BN or biases.
 * State (moments, step count) is exposed as named Float32Arrays so checkpoints can store it exactly.
 * Schedules give the learning rate for iteration t of T total (per-iteration, not per-epoch):
 *  - linear: lr * (1 - t/T) (linear decay to 0, as the authors' PyTorch code and Larq zoo)
 *  - step:   lr * gamma^(number of milestones <= epoch), milestones in epochs
 *  - cosine: lr * 0.5 * (1 + cos(pi * t/T))
 *  - constant
 */
export type OptName = 'adam' | 'sgd';
export const OPT_NAMES: readonly OptName[] = ['adam', 'sgd'];
export type ScheduleName = 'linear' | 'step' | 'cosine' | 'constant';
export const SCHEDULE_NAMES: readonly ScheduleName[] = ['linear', 'step', 'cosine', 'constant'];

export interface OptConfig { name: OptName; lr: number; weightDecay: number; momentum: number; beta1: number; beta2: number; eps: number }

export class Optimizer {
  readonly cfg: OptConfig;
  step = 0;
  /** state tensors by name: `${param}.m`, `${param}.v` (adam) or `${param}.buf` (sgd) */
  readonly state = new Map<string, Float32Array>();
  constructor(cfg: OptConfig) { this.cfg = cfg; }

  /** One update of every param in `names` with learning rate lr. */
  update(params: Map<string, Float32Array>, grads: Map<string, Float32Array>, names: readonly string[], decayed: ReadonlySet<string>, lr: number): void {
    this.step++;
    const c = this.cfg;
    const t = this.step;
    for (const name of names) {
      const w = params.get(name)!, g = grads.get(name)!;
      const wd = decayed.has(name) ? c.weightDecay : 0;
      if (c.name === 'adam') {
        const m = this.buf(`${name}.m`, w.length), v = this.buf(`${name}.v`, w.length);
        const bc1 = 1 - Math.pow(c.beta1, t), bc2 = 1 - Math.pow(c.beta2, t);
        const stepSize = lr / bc1;
        const sq2 = Math.sqrt(bc2);
        for (let i = 0; i < w.length; i++) {
          const gi = g[i] + wd * w[i];
          m[i] = c.beta1 * m[i] + (1 - c.beta1) * gi;
          v[i] = c.beta2 * v[i] + (1 - c.beta2) * gi * gi;
          w[i] -= stepSize * m[i] / (Math.sqrt(v[i]) / sq2 + c.eps);
        }
      } else {
        const fresh = !this.state.has(`${name}.buf`);
        const b = this.buf(`${name}.buf`, w.length);
        for (let i = 0; i < w.length; i++) {
          const gi = g[i] + wd * w[i];
          b[i] = fresh ? gi : c.momentum * b[i] + gi;
          w[i] -= lr * b[i];
        }
      }
    }
  }

  private buf(name: string, n: number): Float32Array {
    let b = this.state.get(name);
    if (!b) { b = new Float32Array(n); this.state.set(name, b); }
    return b;
  }
}

export interface ScheduleConfig { name: ScheduleName; milestones: number[]; gamma: number }

export function learningRate(base: number, s: ScheduleConfig, iter: number, totalIters: number, epoch: number): number {
  const f = totalIters > 0 ? Math.min(1, iter / totalIters) : 0;
  switch (s.name) {
    case 'constant': return base;
    case 'linear': return base * (1 - f);
    case 'cosine': return base * 0.5 * (1 + Math.cos(Math.PI * f));
    case 'step': return base * Math.pow(s.gamma, s.milestones.filter((m) => epoch >= m).length);
  }
}

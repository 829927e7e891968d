/**
 * Trainable network variants for the 28x28 datasets, sized for this 2-core CPU, plus name resolution for
 * `--model` with the `--shortcut` switch. Built with ir/builders.ts birealNet (the IR's own builder), so
 * their structure is exactly Bi-Real Net's: real stem, one shortcut per binary conv ('per-conv') or per two
 * ('per-block'), AvgPool -> real 1x1 conv -> BN downsample shortcuts, GAP -> real FC.
 *
 * 'bireal-mnist-fast': stem conv 5x5/2 (1 -> 32, real) to 14x14, then binary stages 32 x2 @14x14 and
 * 64 x2 @7x7 (~2.8 M binary MACs + 0.2 M real MACs per image): small enough to train to >99% on MNIST in
 * minutes with the JS/WASM trainer. 'bireal-fashion-fast' doubles the widths. 'bireal-mnist-deep' has four
 * binary blocks at 7x7 instead of two (~1.7x the training time; +2.6 points in a short Fashion-MNIST probe);
 * 'bireal-mnist-deeper' has three at 14x14 and six at 7x7 (~1.5x deep's MACs: deep stops at 99.15% TRAINING
 * accuracy on MNIST after 1 + 11 epochs, i.e. it underfits); 'bireal-mnist-wide' is 'deep' with 64 channels at
 * 14x14 too (~2x deep's MACs). The '-pool' variants keep the binary part and give the stem the paper's form
 * (Bi-Real-18: conv7x7/2 + maxpool3x3/2; here conv5x5/1 on 28x28 + maxpool3x3/2 to 14x14): +0.27 points over
 * 'deep' in a 1 + 3-epoch MNIST probe for ~16% more time per step; 'bireal-mnist-deep-pool' reaches 99.35% on
 * MNIST in 17.4 minutes (reports/train/README.md).
 * The 'reactnet-' variants are the same nets with ReActNet's activations (RSign, RPReLU; builders.ts).
 * Existing builders' meanings are unchanged; these are new names.
 */
import { BUILTIN_WORKLOADS, birealNet, type BiRealOptions } from '../ir/builders.ts';
import type { Workload } from '../ir/types.ts';
import { UserError, didYouMean, byName } from '../core/diagnostics.ts';

export type ShortcutKind = 'per-conv' | 'per-block';

const GREY28 = { h: 28, w: 28, c: 1 };

type Variant = Omit<BiRealOptions, 'shortcut'>;

const DEEP: Variant = {
  name: 'bireal-mnist-deep', description: 'Bi-Real Net for 28x28x1: real stem conv5x5/2 32 ch, binary stages 2x32 @14x14, 4x64 @7x7, 10 classes',
  input: GREY28, stem: { channels: 32, kernel: 5, stride: 2, pad: 2, maxpool: false },
  stages: [{ blocks: 2, channels: 32 }, { blocks: 4, channels: 64 }], classes: 10,
};
const DEEPER: Variant = {
  name: 'bireal-mnist-deeper', description: 'Bi-Real Net for 28x28x1: real stem conv5x5/2 32 ch, binary stages 3x32 @14x14, 6x64 @7x7, 10 classes',
  input: GREY28, stem: { channels: 32, kernel: 5, stride: 2, pad: 2, maxpool: false },
  stages: [{ blocks: 3, channels: 32 }, { blocks: 6, channels: 64 }], classes: 10,
};

/** `base` (a conv k x k/2 stem) with the paper's stem form instead: the same conv at stride 1, then maxpool3x3/2. */
function withPaperStem(base: Variant): Variant {
  const { channels, kernel } = base.stem;
  return {
    ...base, name: `${base.name}-pool`,
    description: base.description!.replace(`real stem conv${kernel}x${kernel}/2 ${channels} ch`, `real stem conv${kernel}x${kernel}/1 ${channels} ch + maxpool3x3/2 (the paper's stem form)`),
    stem: { ...base.stem, stride: 1, maxpool: true },
  };
}

/**
 * The depth study's nets (issue "ablations with statistical significance"): 'bireal-depth<D>' has D binary
 * 3x3 convs at constant width 32 on a 7x7 map (real stem conv5x5/2 32 ch + maxpool3x3/2: 28 -> 14 -> 7), so
 * only the depth changes between them (each binary conv costs 0.45 M binary MACs per image). D is even so
 * that the per-block variant (a shortcut every two convs) is defined.
 */
export const DEPTH_STUDY_DEPTHS = [4, 8, 16, 32] as const;
function depthVariants(depths: readonly number[]): Record<string, Variant> {
  return Object.fromEntries(depths.map((d) => [`bireal-depth${d}`, {
    name: `bireal-depth${d}`, description: `Bi-Real Net for 28x28x1 of depth ${d}: real stem conv5x5/2 32 ch + maxpool3x3/2, binary stages ${d}x32 @7x7, 10 classes`,
    input: GREY28, stem: { channels: 32, kernel: 5, stride: 2, pad: 2, maxpool: true },
    stages: [{ blocks: d, channels: 32 }], classes: 10,
  } satisfies Variant]));
}

export const TRAIN_VARIANTS: Readonly<Record<string, Variant>> = byName({
  'bireal-mnist-fast': {
    name: 'bireal-mnist-fast', description: 'Bi-Real Net for 28x28x1: real stem conv5x5/2 32 ch, binary stages 2x32 @14x14, 2x64 @7x7, 10 classes',
    input: GREY28, stem: { channels: 32, kernel: 5, stride: 2, pad: 2, maxpool: false },
    stages: [{ blocks: 2, channels: 32 }, { blocks: 2, channels: 64 }], classes: 10,
  },
  'bireal-mnist-deep': DEEP,
  'bireal-mnist-deeper': DEEPER,
  'bireal-mnist-deep-pool': withPaperStem(DEEP),
  'bireal-mnist-deeper-pool': withPaperStem(DEEPER),
  'bireal-mnist-wide': {
    name: 'bireal-mnist-wide', description: 'Bi-Real Net for 28x28x1: real stem conv5x5/2 64 ch, binary stages 2x64 @14x14, 4x64 @7x7, 10 classes',
    input: GREY28, stem: { channels: 64, kernel: 5, stride: 2, pad: 2, maxpool: false },
    stages: [{ blocks: 2, channels: 64 }, { blocks: 4, channels: 64 }], classes: 10,
  },
  'bireal-fashion-fast': {
    name: 'bireal-fashion-fast', description: 'Bi-Real Net for 28x28x1: real stem conv5x5/2 64 ch, binary stages 2x64 @14x14, 2x128 @7x7, 10 classes',
    input: GREY28, stem: { channels: 64, kernel: 5, stride: 2, pad: 2, maxpool: false },
    stages: [{ blocks: 2, channels: 64 }, { blocks: 2, channels: 128 }], classes: 10,
  },
  'reactnet-mnist-deep-pool': {
    ...withPaperStem(DEEP), name: 'reactnet-mnist-deep-pool', activation: 'reactnet',
    description: withPaperStem(DEEP).description!.replace('Bi-Real Net for 28x28x1', 'ReActNet-style Bi-Real Net for 28x28x1 (Liu et al. 2020: RSign in place of sign, RPReLU after every residual add)'),
  },
  'reactnet-tiny': {
    name: 'reactnet-tiny', description: 'ReActNet-style Bi-Real Net for 28x28x1, a quick-test size: stem conv5x5/2 16 ch, binary stages 2x16, 2x32, RSign + RPReLU, 10 classes',
    input: GREY28, stem: { channels: 16, kernel: 5, stride: 2, pad: 2, maxpool: false },
    stages: [{ blocks: 2, channels: 16 }, { blocks: 2, channels: 32 }], classes: 10, activation: 'reactnet',
  },
  ...depthVariants([4, 8, 16, 32]),
  'bireal-tiny': {
    name: 'bireal-tiny', description: 'Bi-Real Net for 28x28x1, a quick-test size: stem conv5x5/2 16 ch, binary stages 2x16, 2x32, 10 classes',
    input: GREY28, stem: { channels: 16, kernel: 5, stride: 2, pad: 2, maxpool: false },
    stages: [{ blocks: 2, channels: 16 }, { blocks: 2, channels: 32 }], classes: 10,
  },
});

/** Builds a trainer variant or a built-in workload by name; `shortcut` is only valid for trainer variants. */
export function variantWorkload(name: string, shortcut?: ShortcutKind): Workload | undefined {
  const v = TRAIN_VARIANTS[name];
  if (v) {
    const wl = birealNet({ ...v, shortcut: shortcut ?? 'per-conv' });
    if (shortcut === 'per-block') wl.name = `${v.name}-perblock`;
    return wl;
  }
  if (BUILTIN_WORKLOADS[name]) {
    if (shortcut && shortcut !== 'per-conv') throw new UserError('E_SHORTCUT', `--shortcut ${shortcut} is only available for the trainer variants`, { hint: `use one of ${Object.keys(TRAIN_VARIANTS).join(', ')}, or give a workload JSON with the structure you want` });
    return BUILTIN_WORKLOADS[name]();
  }
  return undefined;
}

export function knownModelNames(): string[] { return [...Object.keys(TRAIN_VARIANTS), ...Object.keys(BUILTIN_WORKLOADS)]; }
export function suggestModel(name: string): string | undefined { return didYouMean(name, knownModelNames()); }

/**
 * Builders for the reference networks. Structure follows shared/reference/bireal-method.md section 1:
 *  - Bi-Real-18/34 (Liu et al. 2018, authors' PyTorch form): real stem conv7x7/2 + BN + maxpool3x3/2, then
 *    one Bi-Real block per 3x3 binary conv: out = BN(BinConv3x3(sign(x))) + shortcut(x), no ReLU; the
 *    downsampling shortcut is AvgPool2x2/2 -> real conv1x1 -> BN; head GAP -> real FC with bias.
 *  - XNOR-Net-18 (Rastegari et al. 2016) on the ResNet-18 skeleton: plain basic block (shortcut every two
 *    binary convs), each binary conv scaled by alpha (per output channel) and K (per position); projection
 *    shortcut conv1x1/2 + BN.
 *  - ResNet-18/34 full precision (torchvision form).
 *  - ReActNet-18 (Liu, Shen, Savvides, Cheng, ECCV 2020, the ResNet-based ReActNet of the authors' code):
 *    Bi-Real-18's topology with RSign (a learnable per-channel threshold) in place of every sign and RPReLU
 *    after every residual add: out = RPReLU(BN(BinConv3x3(RSign(x))) + shortcut(x)).
 *  - Small 28x28 Bi-Real variants for MNIST / Fashion-MNIST.
 */
import { byName } from '../core/diagnostics.ts';
import { SCHEMA_ID, type Layer, type PadMode, type Workload } from './types.ts';

class Net {
  layers: Layer[] = [];
  last = 'input';
  add<L extends Layer>(l: L): string { this.layers.push(l); this.last = l.id; return l.id; }
}

export interface StageSpec { blocks: number; channels: number }
export interface BiRealOptions {
  name: string;
  description?: string;
  input: { h: number; w: number; c: number };
  stem: { channels: number; kernel: number; stride: number; pad: number; maxpool: boolean };
  /** number of BINARY convs per stage (Bi-Real-18: [4,4,4,4]) */
  stages: StageSpec[];
  classes: number;
  padMode?: PadMode;
  /** 'per-conv' = Bi-Real (shortcut around every binary conv); 'per-block' = plain binary ResNet (every two) */
  shortcut?: 'per-conv' | 'per-block';
  /** 'sign' = Bi-Real Net; 'reactnet' = RSign instead of sign, RPReLU after every residual add (ReActNet) */
  activation?: 'sign' | 'reactnet';
}

function stem(n: Net, o: BiRealOptions, relu: boolean): void {
  n.add({ id: 'stem.conv', op: 'conv', outChannels: o.stem.channels, kernel: o.stem.kernel, stride: o.stem.stride, pad: o.stem.pad, bias: false });
  n.add({ id: 'stem.bn', op: 'bn', eps: 1e-5 });
  if (relu) n.add({ id: 'stem.relu', op: 'relu' });
  if (o.stem.maxpool) n.add({ id: 'stem.pool', op: 'maxpool', kernel: 3, stride: 2, pad: 1 });
}

function head(n: Net, classes: number): void {
  n.add({ id: 'head.gap', op: 'gap' });
  n.add({ id: 'head.fc', op: 'fc', outFeatures: classes, bias: true });
}

/** Bi-Real shortcut for a downsampling conv: AvgPool2x2/2 (when strided) -> conv1x1 -> BN. */
function biRealDown(n: Net, prefix: string, from: string, stride: number, cout: number): string {
  let src = from;
  if (stride > 1) src = n.add({ id: `${prefix}.down.pool`, op: 'avgpool', in: from, kernel: stride, stride, pad: 0 });
  n.add({ id: `${prefix}.down.conv`, op: 'conv', in: src, outChannels: cout, kernel: 1, stride: 1, pad: 0, bias: false });
  return n.add({ id: `${prefix}.down.bn`, op: 'bn', eps: 1e-5 });
}

export function birealNet(o: BiRealOptions): Workload {
  const n = new Net();
  const padMode = o.padMode ?? 'zero';
  stem(n, o, false);
  let cin = o.stem.channels;
  const perBlock = o.shortcut === 'per-block';
  const react = o.activation === 'reactnet';
  const binAct = react ? 'rsign' : 'sign';
  o.stages.forEach((st, si) => {
    for (let b = 0; b < st.blocks; b++) {
      const stride = si > 0 && b === 0 ? 2 : 1;
      const cout = st.channels;
      const prefix = `s${si + 1}.b${b}`;
      const x = n.last;
      if (perBlock) {
        // plain binary ResNet block: two binary convs, one shortcut; b counts binary convs, so step by 2
        if (b % 2 === 1) continue;
        n.add({ id: `${prefix}.sign1`, op: binAct, in: x });
        n.add({ id: `${prefix}.conv1`, op: 'bconv', outChannels: cout, kernel: 3, stride, pad: 1, padMode, weightScale: 'channel' });
        n.add({ id: `${prefix}.bn1`, op: 'bn', eps: 1e-5 });
        n.add({ id: `${prefix}.sign2`, op: binAct });
        n.add({ id: `${prefix}.conv2`, op: 'bconv', outChannels: cout, kernel: 3, stride: 1, pad: 1, padMode, weightScale: 'channel' });
        const main = n.add({ id: `${prefix}.bn2`, op: 'bn', eps: 1e-5 });
        const sc = stride > 1 || cin !== cout ? biRealDown(n, prefix, x, stride, cout) : x;
        n.add({ id: `${prefix}.add`, op: 'add', inputs: [main, sc] });
        if (react) n.add({ id: `${prefix}.act`, op: 'rprelu' });
      } else {
        n.add({ id: `${prefix}.sign`, op: binAct, in: x });
        n.add({ id: `${prefix}.conv`, op: 'bconv', outChannels: cout, kernel: 3, stride, pad: 1, padMode, weightScale: 'channel' });
        const main = n.add({ id: `${prefix}.bn`, op: 'bn', eps: 1e-5 });
        const sc = stride > 1 || cin !== cout ? biRealDown(n, prefix, x, stride, cout) : x;
        n.add({ id: `${prefix}.add`, op: 'add', inputs: [main, sc] });
        if (react) n.add({ id: `${prefix}.act`, op: 'rprelu' });
      }
      cin = cout;
    }
  });
  head(n, o.classes);
  return { schema: SCHEMA_ID, name: o.name, description: o.description, family: react ? 'reactnet' : perBlock ? 'binary-resnet' : 'bireal', input: o.input, layers: n.layers };
}

const IMAGENET_STEM = { channels: 64, kernel: 7, stride: 2, pad: 3, maxpool: true };
const IMAGENET_IN = { h: 224, w: 224, c: 3 };
const CH = [64, 128, 256, 512];

export function bireal18(): Workload {
  return birealNet({ name: 'bireal18-imagenet', description: 'Bi-Real Net 18 (Liu et al. 2018), ImageNet 224x224', input: IMAGENET_IN, stem: IMAGENET_STEM, stages: [4, 4, 4, 4].map((b, i) => ({ blocks: b, channels: CH[i] })), classes: 1000 });
}

export function bireal34(): Workload {
  return birealNet({ name: 'bireal34-imagenet', description: 'Bi-Real Net 34 (Liu et al. 2018), ImageNet 224x224', input: IMAGENET_IN, stem: IMAGENET_STEM, stages: [6, 8, 12, 6].map((b, i) => ({ blocks: b, channels: CH[i] })), classes: 1000 });
}

export function reactnet18(): Workload {
  return birealNet({
    name: 'reactnet18-imagenet', description: 'ReActNet-18 (Liu et al. 2020, ResNet-based): Bi-Real-18 with RSign and RPReLU, ImageNet 224x224',
    input: IMAGENET_IN, stem: IMAGENET_STEM, stages: [4, 4, 4, 4].map((b, i) => ({ blocks: b, channels: CH[i] })), classes: 1000, activation: 'reactnet',
  });
}

/** ResNet-18/34 basic-block networks, full precision (torchvision structure). */
export function resnet(depth: 18 | 34): Workload {
  const n = new Net();
  const blocks = depth === 18 ? [2, 2, 2, 2] : [3, 4, 6, 3];
  stem(n, { name: '', input: IMAGENET_IN, stem: IMAGENET_STEM, stages: [], classes: 1000 }, true);
  let cin = 64;
  blocks.forEach((nb, si) => {
    for (let b = 0; b < nb; b++) {
      const stride = si > 0 && b === 0 ? 2 : 1;
      const cout = CH[si];
      const p = `s${si + 1}.b${b}`;
      const x = n.last;
      n.add({ id: `${p}.conv1`, op: 'conv', in: x, outChannels: cout, kernel: 3, stride, pad: 1, bias: false });
      n.add({ id: `${p}.bn1`, op: 'bn', eps: 1e-5 });
      n.add({ id: `${p}.relu1`, op: 'relu' });
      n.add({ id: `${p}.conv2`, op: 'conv', outChannels: cout, kernel: 3, stride: 1, pad: 1, bias: false });
      const main = n.add({ id: `${p}.bn2`, op: 'bn', eps: 1e-5 });
      let sc = x;
      if (stride > 1 || cin !== cout) {
        n.add({ id: `${p}.down.conv`, op: 'conv', in: x, outChannels: cout, kernel: 1, stride, pad: 0, bias: false });
        sc = n.add({ id: `${p}.down.bn`, op: 'bn', eps: 1e-5 });
      }
      n.add({ id: `${p}.add`, op: 'add', inputs: [main, sc] });
      n.add({ id: `${p}.relu2`, op: 'relu' });
      cin = cout;
    }
  });
  head(n, 1000);
  return { schema: SCHEMA_ID, name: `resnet${depth}-imagenet`, description: `ResNet-${depth} full precision (He et al. 2016), ImageNet 224x224`, family: 'resnet', input: IMAGENET_IN, layers: n.layers };
}

/** XNOR-Net-18: ResNet-18 skeleton, binary 3x3 convs scaled by alpha and K, real stem/shortcuts/FC. */
export function xnornet18(): Workload {
  const n = new Net();
  stem(n, { name: '', input: IMAGENET_IN, stem: IMAGENET_STEM, stages: [], classes: 1000 }, false);
  let cin = 64;
  [2, 2, 2, 2].forEach((nb, si) => {
    for (let b = 0; b < nb; b++) {
      const stride = si > 0 && b === 0 ? 2 : 1;
      const cout = CH[si];
      const p = `s${si + 1}.b${b}`;
      const x = n.last;
      n.add({ id: `${p}.sign1`, op: 'sign', in: x });
      n.add({ id: `${p}.conv1`, op: 'bconv', outChannels: cout, kernel: 3, stride, pad: 1, padMode: 'zero', weightScale: 'channel' });
      n.add({ id: `${p}.k1`, op: 'actscale', inputs: [`${p}.conv1`, x], kernel: 3, stride, pad: 1 });
      const mid = n.add({ id: `${p}.bn1`, op: 'bn', eps: 1e-5 });
      n.add({ id: `${p}.sign2`, op: 'sign', in: mid });
      n.add({ id: `${p}.conv2`, op: 'bconv', outChannels: cout, kernel: 3, stride: 1, pad: 1, padMode: 'zero', weightScale: 'channel' });
      n.add({ id: `${p}.k2`, op: 'actscale', inputs: [`${p}.conv2`, mid], kernel: 3, stride: 1, pad: 1 });
      const main = n.add({ id: `${p}.bn2`, op: 'bn', eps: 1e-5 });
      let sc = x;
      if (stride > 1 || cin !== cout) {
        n.add({ id: `${p}.down.conv`, op: 'conv', in: x, outChannels: cout, kernel: 1, stride, pad: 0, bias: false });
        sc = n.add({ id: `${p}.down.bn`, op: 'bn', eps: 1e-5 });
      }
      n.add({ id: `${p}.add`, op: 'add', inputs: [main, sc] });
      cin = cout;
    }
  });
  head(n, 1000);
  return { schema: SCHEMA_ID, name: 'xnornet18-imagenet', description: 'XNOR-Net on ResNet-18 (Rastegari et al. 2016), ImageNet 224x224', family: 'xnornet', input: IMAGENET_IN, layers: n.layers };
}

/** Small Bi-Real network for 28x28 grey images (MNIST, Fashion-MNIST): real stem, downsample shortcuts and FC. */
export function birealSmall(name = 'bireal-mnist', channels: [number, number, number] = [32, 64, 128], blocks: [number, number, number] = [2, 2, 2]): Workload {
  return birealNet({
    name, description: `Bi-Real Net for 28x28x1 inputs: stem conv3x3 ${channels[0]} ch, stages ${blocks.join('/')} binary convs at ${channels.join('/')} channels, 10 classes`,
    input: { h: 28, w: 28, c: 1 }, stem: { channels: channels[0], kernel: 3, stride: 1, pad: 1, maxpool: false },
    stages: blocks.map((b, i) => ({ blocks: b, channels: channels[i] })), classes: 10,
  });
}

/** Built-in workloads by name (the checked-in workloads/*.json are generated from these). */
export const BUILTIN_WORKLOADS: Readonly<Record<string, () => Workload>> = byName({
  'bireal18-imagenet': bireal18,
  'bireal34-imagenet': bireal34,
  'xnornet18-imagenet': xnornet18,
  'reactnet18-imagenet': reactnet18,
  'resnet18-imagenet': () => resnet(18),
  'resnet34-imagenet': () => resnet(34),
  'bireal-mnist': () => birealSmall('bireal-mnist'),
  'bireal-fashion': () => birealSmall('bireal-fashion', [32, 64, 128], [2, 2, 2]),
});

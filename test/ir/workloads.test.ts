import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { BUILTIN_WORKLOADS } from '../../src/ir/builders.ts';
import { loadWorkloadText } from '../../src/ir/validate.ts';

describe('checked-in workloads', () => {
  it('every built-in has a checked-in JSON equal to the builder output (regenerate: npm run workloads)', () => {
    const files = readdirSync('workloads').filter((f) => f.endsWith('.json'));
    for (const name of Object.keys(BUILTIN_WORKLOADS)) expect(files).toContain(`${name}.json`);
    for (const f of files) {
      const text = readFileSync(`workloads/${f}`, 'utf8');
      const net = loadWorkloadText(text, f);
      const b = BUILTIN_WORKLOADS[f.replace(/\.json$/, '')];
      if (b) expect(net.workload).toEqual(loadWorkloadText(JSON.stringify(b())).workload);
    }
  });

  it('Bi-Real-18 has 16 binary convs with feature maps 56/28/14/7 and 3 real downsample convs', () => {
    const net = loadWorkloadText(readFileSync('workloads/bireal18-imagenet.json', 'utf8'));
    const b = net.layers.filter((l) => l.layer.op === 'bconv');
    expect(b.length).toBe(16);
    expect(b.map((l) => l.out.h)).toEqual([56, 56, 56, 56, 28, 28, 28, 28, 14, 14, 14, 14, 7, 7, 7, 7]);
    expect(net.layers.filter((l) => l.layer.op === 'conv').map((l) => (l.layer as unknown as { kernel: number }).kernel)).toEqual([7, 1, 1, 1]);
    // every binary conv is wrapped by its own real-valued shortcut: sign -> bconv -> bn -> add
    for (const l of b) expect(net.byId.get(net.byId.get(l.consumers[0])!.consumers[0])!.layer.op).toBe('add');
    expect(net.layers.filter((l) => l.layer.op === 'relu').length).toBe(0);
  });

  it('Bi-Real-34 has [6, 8, 12, 6] binary convs per stage', () => {
    const net = loadWorkloadText(readFileSync('workloads/bireal34-imagenet.json', 'utf8'));
    const sizes = net.layers.filter((l) => l.layer.op === 'bconv').map((l) => l.out.h);
    expect([56, 28, 14, 7].map((s) => sizes.filter((x) => x === s).length)).toEqual([6, 8, 12, 6]);
  });

  it('ReActNet-18 is Bi-Real-18 with an RSign before every binary conv and an RPReLU after every residual add (Liu et al. 2020)', () => {
    const net = loadWorkloadText(readFileSync('workloads/reactnet18-imagenet.json', 'utf8'));
    const bi = loadWorkloadText(readFileSync('workloads/bireal18-imagenet.json', 'utf8'));
    const b = net.layers.filter((l) => l.layer.op === 'bconv');
    expect(b.map((l) => l.out.h)).toEqual(bi.layers.filter((l) => l.layer.op === 'bconv').map((l) => l.out.h));
    for (const l of b) expect(net.byId.get(l.inputs[0])!.layer.op).toBe('rsign');
    const adds = net.layers.filter((l) => l.layer.op === 'add');
    expect(adds.length).toBe(16);
    for (const a of adds) expect(a.consumers.map((c) => net.byId.get(c)!.layer.op)).toEqual(['rprelu']);
    expect(net.layers.filter((l) => l.layer.op === 'sign').length).toBe(0);
    // the real-valued parts are Bi-Real-18's
    expect(net.layers.filter((l) => l.layer.op === 'conv').map((l) => (l.layer as unknown as { kernel: number }).kernel)).toEqual([7, 1, 1, 1]);
  });
});

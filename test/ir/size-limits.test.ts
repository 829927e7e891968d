/**
 * Absurd sizes are refused during shape inference, before anything is allocated (ir/validate.ts
 * MAX_TENSOR_ELEMENTS = 2^28): an error E_SIZE naming the JSON path, the tensor, its size and the limit.
 * Every built-in network stays under the limit.
 */
import { describe, expect, it } from 'vitest';
import { BUILTIN_WORKLOADS, birealSmall } from '../../src/ir/builders.ts';
import { loadWorkloadText, MAX_TENSOR_ELEMENTS, resolveNetwork } from '../../src/ir/validate.ts';

const wl = () => JSON.parse(JSON.stringify(birealSmall('tiny', [8, 16, 16], [1, 1, 1])));
function errorOf(w: unknown): { code?: string; message: string; jsonPath?: string } {
  try { loadWorkloadText(JSON.stringify(w), 'w.json'); } catch (e) { return e as { code?: string; message: string; jsonPath?: string }; }
  throw new Error('accepted');
}

describe('tensor size limit', () => {
  it('the limit is 2^28 elements', () => expect(MAX_TENSOR_ELEMENTS).toBe(268435456));
  it('refuses a 200000x200000 input at $.input', () => {
    const w = wl(); w.input = { h: 200000, w: 200000, c: w.input.c };
    const e = errorOf(w);
    expect(e.code).toBe('E_SIZE'); expect(e.jsonPath).toBe('$.input'); expect(e.message).toMatch(/200000x200000.*4\.000e\+10 elements.*268,435,456/);
  });
  it('refuses 2e9 output channels at the layer, naming it', () => {
    const w = wl(); w.layers[0].outChannels = 2e9;
    const e = errorOf(w);
    expect(e.code).toBe('E_SIZE'); expect(e.jsonPath).toBe('$.layers[0]'); expect(e.message).toContain(`'${w.layers[0].id}'`);
  });
  it('refuses a parameter over the limit although every activation is under it (3x3 conv, 2^14 -> 2^14 channels)', () => {
    const v = wl(); v.layers[0].outChannels = 2 ** 14; // stem output 2^14 channels: activations ~12.8M elements, fine
    const k = v.layers.findIndex((l: { op: string }, i: number) => i > 0 && (l.op === 'conv' || l.op === 'bconv'));
    v.layers[k].outChannels = 2 ** 14;
    const e = errorOf(v);
    expect(e.code).toBe('E_SIZE'); expect(e.jsonPath).toBe(`$.layers[${k}]`);
    expect(e.message).toContain(`parameter '${v.layers[k].id}.weight' [16384x${v.layers[k].kernel}x${v.layers[k].kernel}x16384]`);
  });
  it('every built-in network is under the limit', () => {
    for (const [name, make] of Object.entries(BUILTIN_WORKLOADS)) expect(() => resolveNetwork(make()), name).not.toThrow();
  });
});

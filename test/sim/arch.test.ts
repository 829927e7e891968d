/** Arch spec parsing and resolution: units, strict keys with "did you mean", located errors, presets. */
import { describe, expect, it } from 'vitest';
import { ARCH_SCHEMA_ID, loadArch, mergeSpec, presetNames, presetSpec, resolveArch, sram64ReadPj } from '../../src/sim/arch.ts';
import { UserError } from '../../src/core/diagnostics.ts';

function errOf(f: () => unknown): UserError {
  try { f(); } catch (e) { if (e instanceof UserError) return e; throw e; }
  throw new Error('expected a UserError');
}

describe('arch presets', () => {
  it('has the four presets and they resolve', () => {
    expect(presetNames()).toEqual(expect.arrayContaining(['edge', 'large', 'baseline-mac', 'scalesim-compat']));
    for (const n of presetNames()) expect(loadArch(n).schema).toBe(ARCH_SCHEMA_ID);
  });
  it('resolves units to plain SI numbers', () => {
    const a = loadArch('edge');
    expect(a.clockHz).toBe(500e6);
    expect(a.dram.bandwidthBytesPerSecond).toBe(6.4e9);
    expect(a.dram.bytesPerCycle).toBeCloseTo(12.8, 12); // 6.4e9 B/s / 500e6 Hz
    expect(a.dram.latencyCycles).toBe(50); // 100 ns * 500 MHz
    expect(a.dram.energyPerBit.joules).toBeCloseTo(8e-12, 20);
    expect(a.buffers.weights.capacityBytes).toBe(128 * 1024);
    expect(a.buffers.weights.tileBytes).toBe(64 * 1024); // double-buffered: half per tile
    expect(a.buffers.inputs.bandwidthBytesPerCycle).toBe(4 * 128 / 8);
    // default SRAM energy: 32 KiB per bank is exactly Horowitz's 32 KB anchor (20 pJ per 64 bits), 128-bit port -> 40 pJ
    expect(a.buffers.weights.accessEnergy.joules).toBeCloseTo(40e-12, 18);
    expect(a.buffers.weights.accessEnergy.source).toMatch(/Horowitz/);
    // default xnor op: 64 lanes x 21.6 fJ + 0.05 pJ = 1.4324 pJ
    expect(a.peArray.opEnergy.joules).toBeCloseTo(1.4324e-12, 18);
  });
  it('the resolved arch is read-only', () => {
    const a = loadArch('edge');
    expect(() => { (a.peArray as { rows: number }).rows = 3; }).toThrow();
  });
  it('SRAM anchor interpolation hits Horowitz points', () => {
    expect(sram64ReadPj(8 * 1024)).toBeCloseTo(10, 9);
    expect(sram64ReadPj(32 * 1024)).toBeCloseTo(20, 9);
    expect(sram64ReadPj(1024 * 1024)).toBeCloseTo(100, 9);
    expect(sram64ReadPj(16 * 1024)).toBeCloseTo(Math.sqrt(200), 9); // geometric midpoint in log-log
  });
  it('baseline has the same PE count as edge', () => {
    const e = loadArch('edge'), b = loadArch('baseline-mac');
    expect(b.peArray.rows * b.peArray.cols).toBe(e.peArray.rows * e.peArray.cols);
    expect(b.realUnit.onPeArray).toBe(true);
    expect(b.peArray.binaryElementBits).toBe(32);
  });
});

describe('arch errors', () => {
  const base = presetSpec('edge');
  it('unknown key -> did you mean, with the JSON path and file', () => {
    const e = errOf(() => resolveArch(mergeSpec(base, { peArray: { lanebits: 64 } }), 'my.json'));
    expect(e.jsonPath).toBe('$.peArray.lanebits');
    expect(e.file).toBe('my.json');
    expect(e.hint).toMatch(/did you mean 'laneBits'/);
  });
  it('bad unit', () => {
    const e = errOf(() => resolveArch(mergeSpec(base, { dram: { bandwidth: '12.8 GHz' } })));
    expect(e.jsonPath).toBe('$.dram.bandwidth');
    expect(e.format()).toMatch(/B\/s/);
  });
  it('bare number where a quantity is expected', () => {
    const e = errOf(() => resolveArch(mergeSpec(base, { clock: 500 })));
    expect(e.jsonPath).toBe('$.clock');
  });
  it('energy without a source is rejected', () => {
    const e = errOf(() => resolveArch(mergeSpec(base, { pooling: { opEnergy: { value: '1 pJ' } } })));
    expect(e.jsonPath).toBe('$.pooling.opEnergy.source');
  });
  it('missing energy is an error, not a silent default', () => {
    const spec = JSON.parse(JSON.stringify(base));
    delete spec.postProcessing.mulEnergy;
    expect(errOf(() => resolveArch(spec)).jsonPath).toBe('$.postProcessing.mulEnergy');
  });
  it('bad enum -> did you mean', () => {
    const e = errOf(() => resolveArch(mergeSpec(base, { peArray: { dataflow: 'wss' } })));
    expect(e.hint).toMatch(/did you mean 'ws'/);
  });
  it('lane width must be a power of two; pe-array real unit needs a mac array', () => {
    expect(errOf(() => resolveArch(mergeSpec(base, { peArray: { laneBits: 48 } }))).jsonPath).toBe('$.peArray.laneBits');
    expect(errOf(() => resolveArch(mergeSpec(base, { realUnit: 'pe-array' }))).jsonPath).toBe('$.realUnit');
  });
  it('wrong schema and unknown preset', () => {
    expect(errOf(() => resolveArch({ ...base, schema: 'birealsim.arch/0' })).jsonPath).toBe('$.schema');
    expect(errOf(() => loadArch('egde')).hint).toMatch(/did you mean 'edge'/);
  });
});

describe('real-stream width', () => {
  const base = presetSpec('edge');
  it('8, 16 and 32 bits resolve; the default post-processing energies follow the width (Horowitz int8 / fp16 / fp32)', () => {
    const at = (bits: number) => resolveArch(mergeSpec(base, { buffers: { realStream: { precisionBits: bits } } }));
    expect([8, 16, 32].map((b) => at(b).realPrecision)).toEqual(['int8', 'fp16', 'fp32']);
    expect(at(8).postProcessing.mulEnergy.joules).toBeCloseTo(0.2e-12, 20); // 8-bit int multiply 0.2 pJ
    expect(at(16).postProcessing.addEnergy.joules).toBeCloseTo(0.4e-12, 20); // fp16 add 0.4 pJ
    expect(at(32).postProcessing.mulEnergy.joules).toBeCloseTo(3.7e-12, 20); // fp32 multiply 3.7 pJ
  });
  it('other widths are rejected at the JSON path', () => {
    const e = errOf(() => resolveArch(mergeSpec(base, { buffers: { realStream: { precisionBits: 12 } } }), 'w.json'));
    expect(e.jsonPath).toBe('$.buffers.realStream.precisionBits');
    expect(e.message).toMatch(/expected 8 .*16 .*32/);
  });
});

/**
 * Documented defaults of the arch format (docs/arch.md): a file written with only the required keys resolves,
 * and the omitted keys take the documented values (dram.latency 100 ns, one bank, 64-bit port, double
 * buffering, output-stationary dataflow). The JSON Schema accepts the same file.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020.js';
import { resolveArch } from '../../src/sim/arch.ts';

const minimal = {
  schema: 'birealsim.arch/1', name: 'minimal', clock: '1 GHz',
  dram: { bandwidth: '12.8 GB/s', energyPerBit: 'default' },
  buffers: {
    weights: { capacity: '128 KiB', accessEnergy: 'default' },
    inputs: { capacity: '64 KiB', accessEnergy: 'default' },
    realStream: { capacity: '64 KiB', accessEnergy: 'default', precisionBits: 32 },
    outputs: { capacity: '32 KiB', accessEnergy: 'default' },
  },
  peArray: { rows: 32, cols: 32, type: 'xnor', laneBits: 64, accumulatorBits: 16, opEnergy: 'default' },
  postProcessing: { lanes: 16, mulEnergy: 'default', addEnergy: 'default', compareEnergy: 'default' },
  realUnit: { macsPerCycle: 64, precision: 'fp32', macEnergy: 'default' },
  pooling: { lanes: 16, opEnergy: 'default' },
};

describe('arch defaults', () => {
  it('a file with only the required keys resolves with the documented defaults', () => {
    const a = resolveArch(structuredClone(minimal), 'minimal.json');
    // 100 ns at 1 GHz = 100 cycles
    expect(a.dram.latencyCycles).toBe(100);
    for (const b of Object.values(a.buffers)) {
      expect(b.banks).toBe(1);
      expect(b.portBits).toBe(64);
      expect(b.bandwidthBytesPerCycle).toBe(8);
      expect(b.doubleBuffered).toBe(true);
      expect(b.tileBytes).toBe(b.capacityBytes / 2);
    }
    expect(a.peArray.dataflow).toBe('os');
  });
  it('the editor schema accepts the same file', () => {
    const schema = JSON.parse(readFileSync(new URL('../../schemas/arch.schema.json', import.meta.url), 'utf8'));
    const ajv = new (Ajv2020 as unknown as typeof Ajv2020.default)({ strict: false });
    const ok = ajv.validate(schema, minimal);
    expect(ajv.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });
});

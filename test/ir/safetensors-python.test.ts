/**
 * Format check by an independent reader: Python's struct + json parse our model file following the
 * safetensors spec (8-byte LE header length, JSON header, data offsets relative to the data section).
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { birealSmall } from '../../src/ir/builders.ts';
import { resolveNetwork } from '../../src/ir/validate.ts';
import { encodeModel, randomModel, decodeModel } from '../../src/ir/model.ts';
import { toDeployable } from '../../src/ir/deploy.ts';

const PY = `
import json, struct, sys
b = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', b[:8])[0]
h = json.loads(b[8:8+n])
meta = h.pop('__metadata__')
out = {'kind': meta['birealsim.kind'], 'n': len(h)}
t = h['s1.b0.conv.weight_bits']; s, e = t['data_offsets']
out['bits_dtype'] = t['dtype']; out['bits_shape'] = t['shape']
out['bits_first'] = list(struct.unpack('<4i', b[8+n+s:8+n+s+16]))
m = h['s1.b0.conv.mul']; s, e = m['data_offsets']
out['mul'] = list(struct.unpack('<%df' % (t['shape'][0]), b[8+n+s:8+n+e]))
ends = sorted(v['data_offsets'][1] for v in h.values())
out['data_len_ok'] = ends[-1] == len(b) - 8 - n
print(json.dumps(out))
`;

describe('safetensors files are readable by an independent implementation', () => {
  it('python struct/json reader sees the same tensors', () => {
    const net = resolveNetwork(birealSmall('t', [16, 40, 40], [1, 1, 1]));
    const dep = toDeployable(randomModel(net, 2));
    const dir = mkdtempSync(join(tmpdir(), 'st-'));
    const f = join(dir, 'm.safetensors');
    writeFileSync(f, encodeModel(dep));
    const r = spawnSync('python3', ['-c', PY, f], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.kind).toBe('deployable');
    expect(j.data_len_ok).toBe(true);
    expect(j.bits_dtype).toBe('I32');
    expect(j.bits_shape).toEqual([16, 3, 3, 1]);
    const bits = dep.params.get('s1.b0.conv.weight_bits') as Uint32Array;
    expect(j.bits_first).toEqual(Array.from(bits.slice(0, 4)).map((x) => x | 0));
    const mul = dep.params.get('s1.b0.conv.mul') as Float32Array;
    expect(j.mul).toEqual(Array.from(mul));
    // and we read back exactly what we wrote
    const back = decodeModel(encodeModel(dep));
    expect(Array.from(back.params.get('s1.b0.conv.weight_bits') as Uint32Array)).toEqual(Array.from(bits));
  });
});

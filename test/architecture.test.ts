/** Imports point down only (design.md): cli -> report -> sim -> cost -> golden -> ir -> core; kernels beside core; train beside golden. */
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const RANK: Record<string, number> = { core: 0, kernels: 1, ir: 1, golden: 2, train: 2, cost: 3, sim: 4, report: 5, cli: 6 };
// modules a layer may not import even though lower-ranked: train must not use golden/cost/sim
const FORBIDDEN: Record<string, string[]> = { train: ['golden', 'cost', 'sim'], golden: ['train'], kernels: ['ir', 'golden', 'train'] };

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => { const p = join(dir, f); return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : []; });
}

describe('layering', () => {
  it('no module imports a higher layer', () => {
    const bad: string[] = [];
    for (const f of files('src')) {
      const layer = f.split('/')[1];
      for (const m of readFileSync(f, 'utf8').matchAll(/^\s*import[^'"]*['"](\.\.?\/[^'"]+)['"]/gm)) {
        const target = join(f, '..', m[1]).split('/')[1];
        if (!(target in RANK) || target === layer) continue;
        if (RANK[target] > RANK[layer] || (FORBIDDEN[layer] ?? []).includes(target)) bad.push(`${f} imports ${m[1]}`);
      }
    }
    expect(bad).toEqual([]);
  });
});

/** Imports point down only (design.md, docs/architecture.md): cli -> explore -> report -> sim -> cost -> golden / train -> ir -> ops -> kernels -> core. */
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const RANK: Record<string, number> = { core: 0, kernels: 1, data: 2, ops: 2, ir: 3, golden: 4, train: 4, interop: 4, cost: 5, sim: 6, report: 7, explore: 7.5, cli: 8 };
// modules a layer may not import even though lower-ranked: train must not use golden/cost/sim
const FORBIDDEN: Record<string, string[]> = { train: ['golden', 'cost', 'sim'], golden: ['train'], interop: ['train'] };

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => { const p = join(dir, f); return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : []; });
}

describe('layering', () => {
  it('every source directory has a rank (a new layer must be placed)', () => {
    const dirs = readdirSync('src').filter((d) => statSync(join('src', d)).isDirectory());
    expect(dirs.filter((d) => !(d in RANK))).toEqual([]);
  });
  it('dynamic import() of a source module only in the cli (lazy command loading); the layering check reads those too', () => {
    const bad = files('src').filter((f) => f.split('/')[1] !== 'cli' && /\bimport\(\s*['"]\.\.?\//.test(readFileSync(f, 'utf8')));
    expect(bad).toEqual([]);
  });
  it('no module imports a higher layer', () => {
    const bad: string[] = [];
    for (const f of files('src')) {
      const layer = f.split('/')[1];
      const src = readFileSync(f, 'utf8');
      const specs = [...src.matchAll(/^\s*(?:import|export)[^'"]*\sfrom\s*['"](\.\.?\/[^'"]+)['"]/gm), ...src.matchAll(/^\s*import\s*['"](\.\.?\/[^'"]+)['"]/gm), ...src.matchAll(/\bimport\(\s*['"](\.\.?\/[^'"]+)['"]/g)].map((m) => m[1]);
      for (const spec of specs) {
        const target = join(f, '..', spec).split('/')[1];
        if (!(target in RANK) || target === layer) continue;
        if (RANK[target] > RANK[layer] || (FORBIDDEN[layer] ?? []).includes(target)) bad.push(`${f} imports ${spec}`);
      }
    }
    expect(bad).toEqual([]);
  });
});

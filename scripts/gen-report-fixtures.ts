/**
 * Regenerates the checked-in report-test inputs (test/fixtures/report/) from the real producers on the
 * micro workload: `birealsim cost --json`, sim/simulate.ts (timingMs pinned to 0), and a 16-point grid
 * sweep. Run: node bin/run-ts.mjs scripts/gen-report-fixtures.ts  (then `npx vitest run test/report -u`
 * if the producers' numbers changed on purpose).
 */
import { writeFileAtomic } from '../src/core/atomic.ts';
import { costDoc, simDoc, sweepDoc, MICRO } from '../test/report/fixtures.ts';

const dir = 'test/fixtures/report';
writeFileAtomic(`${dir}/micro-cost.json`, costDoc().text);
writeFileAtomic(`${dir}/micro-sim-edge.json`, simDoc(MICRO, 'edge', 'micro-sim-edge.json').text);
writeFileAtomic(`${dir}/micro-sim-large.json`, simDoc(MICRO, 'large', 'micro-sim-large.json').text);
writeFileAtomic(`${dir}/micro-sweep.jsonl`, (await sweepDoc()).text);
process.stderr.write(`wrote ${dir}/micro-{cost.json,sim-edge.json,sim-large.json,sweep.jsonl}\n`);

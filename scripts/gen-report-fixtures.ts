/**
 * Regenerates the checked-in report-test inputs (test/fixtures/report/) from the real producers on the
 * micro workload: `birealsim cost --json`, sim/simulate.ts (timingMs pinned to 0), and a 16-point grid
 * sweep, and `simulate --functional --verify`; formats-tiny.json from `birealsim formats bireal-tiny` (random
 * weights, 50 MNIST test images). test/fixtures/report/verify-mnist.json is NOT regenerated here:
 * it is the output of `birealsim verify <trained MNIST model> --images 4 --json` (a trained model is needed).
 * Run: node bin/run-ts.mjs scripts/gen-report-fixtures.ts  (then `npx vitest run test/report -u`
 * if the producers' numbers changed on purpose).
 */
import { writeFileAtomic } from '../src/core/atomic.ts';
import { costDoc, simDoc, sweepDoc, cli, MICRO } from '../test/report/fixtures.ts';
import { readFileSync } from 'node:fs';

const dir = 'test/fixtures/report';
writeFileAtomic(`${dir}/micro-cost.json`, costDoc().text);
writeFileAtomic(`${dir}/micro-sim-edge.json`, simDoc(MICRO, 'edge', 'micro-sim-edge.json').text);
writeFileAtomic(`${dir}/micro-sim-large.json`, simDoc(MICRO, 'large', 'micro-sim-large.json').text);
writeFileAtomic(`${dir}/micro-sweep.jsonl`, (await sweepDoc()).text);
// functional simulation verified bit for bit against the golden model (seeded random weights and input);
// wall-clock fields pinned to 0
const r = cli(['simulate', MICRO, '--arch', 'edge', '--functional', '--verify', '--seed', '3', '--json', '--out', `${dir}/micro-verify.json`]);
if (r.status !== 0) throw new Error(`simulate --functional --verify failed: ${r.stderr}`);
const v = JSON.parse(readFileSync(`${dir}/micro-verify.json`, 'utf8'));
v.timingMs = 0; v.functional.ms = 0; v.functional.goldenMs = 0;
writeFileAtomic(`${dir}/micro-verify.json`, JSON.stringify(v, null, 2) + '\n');
// real-stream formats: golden accuracy x simulated cost per format (bireal-tiny, seeded random weights, first
// 50 MNIST test images); the output holds no wall-clock field
const f = cli(['formats', 'bireal-tiny', '--dataset', 'mnist', '--images', '50', '--check-images', '1', '--seed', '0', '--json', '--out', `${dir}/formats-tiny.json`]);
if (f.status !== 0) throw new Error(`formats failed: ${f.stderr}`);
process.stderr.write(`wrote ${dir}/micro-{cost.json,sim-edge.json,sim-large.json,sweep.jsonl,verify.json}, formats-tiny.json\n`);

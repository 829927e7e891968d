#!/usr/bin/env node
// Runs the vitest suite and ends with a plain `N passed, N failed[, N skipped]` line (the summary line CI
// reads; vitest's own summary is not one it recognises). Exit code is vitest's.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

const out = join(tmpdir(), `birealsim-vitest-${process.pid}.json`);
const r = spawnSync(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${out}`, ...process.argv.slice(2)], { stdio: 'inherit' });
let passed = 0, failed = 0, skipped = 0;
try {
  const j = JSON.parse(readFileSync(out, 'utf8'));
  passed = j.numPassedTests; failed = j.numFailedTests + (j.numFailedTestSuites ? j.testResults.filter((t) => t.status === 'failed' && t.assertionResults.length === 0).length : 0);
  skipped = j.numPendingTests + j.numTodoTests;
  rmSync(out, { force: true });
} catch {
  failed = Math.max(failed, 1);
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(r.status ?? 1);

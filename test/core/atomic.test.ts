/**
 * core/atomic.ts: directory swaps keep foreign files and drop owned ones, stale temps of dead processes are
 * cleaned (live ones are not), a swap killed between its two renames is rolled back to the old set, a lock
 * of a dead process is taken over, a directory output onto a file is refused.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { cleanStale, lockPath, writeDirAtomic, writeFileAtomic } from '../../src/core/atomic.ts';

/** A pid that is certainly not running: a child that has exited. */
export function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '0']);
  return r.pid!;
}

const withDir = async (f: (d: string) => Promise<void> | void) => {
  const d = mkdtempSync(join(tmpdir(), 'birealsim-atomic-'));
  try { await f(d); } finally { rmSync(d, { recursive: true, force: true }); }
};

describe('atomic outputs', () => {
  it('writeDirAtomic replaces the owned files as a set and keeps the others', () => withDir(async (d) => {
    const t = join(d, 'out');
    mkdirSync(t);
    writeFileSync(join(t, 'a.txt'), 'old a');
    writeFileSync(join(t, 'b.txt'), 'old b'); // owned, not in the new set: dropped
    writeFileSync(join(t, 'notes.md'), 'mine'); // foreign: kept
    await writeDirAtomic(t, (tmp) => { writeFileSync(join(tmp, 'a.txt'), 'new a'); }, { owned: ['a.txt', 'b.txt'] });
    expect(readdirSync(t).sort()).toEqual(['a.txt', 'notes.md']);
    expect(readFileSync(join(t, 'a.txt'), 'utf8')).toBe('new a');
    expect(readFileSync(join(t, 'notes.md'), 'utf8')).toBe('mine');
    expect(readdirSync(d)).toEqual(['out']); // no temp, no old, no lock
  }));

  it('a failing build leaves the old set and no temp', () => withDir(async (d) => {
    const t = join(d, 'out');
    mkdirSync(t);
    writeFileSync(join(t, 'a.txt'), 'old');
    await expect(writeDirAtomic(t, (tmp) => { writeFileSync(join(tmp, 'a.txt'), 'half'); throw new Error('boom'); })).rejects.toThrow('boom');
    expect(readFileSync(join(t, 'a.txt'), 'utf8')).toBe('old');
    expect(readdirSync(d)).toEqual(['out']);
  }));

  it('cleanStale removes temps of dead pids only, and rolls back a swap killed between its renames', () => withDir((d) => {
    const dead = deadPid();
    const t = join(d, 'out');
    mkdirSync(join(d, `.out.tmp-${dead}-0a0a`));
    writeFileSync(join(d, `.out.tmp-${process.pid}-0b0b`), 'live');
    mkdirSync(join(d, `.out.old-${dead}-0c0c`));
    writeFileSync(join(d, `.out.old-${dead}-0c0c`, 'report.txt'), 'old set');
    cleanStale(t);
    expect(readdirSync(d).sort()).toEqual([`.out.tmp-${process.pid}-0b0b`, 'out']);
    expect(readFileSync(join(t, 'report.txt'), 'utf8')).toBe('old set');
    // a file target: the next atomic write cleans a dead writer's temp
    writeFileSync(join(d, `.m.bin.tmp-${dead}-0d0d`), 'half');
    writeFileAtomic(join(d, 'm.bin'), 'whole');
    expect(existsSync(join(d, `.m.bin.tmp-${dead}-0d0d`))).toBe(false);
    expect(readFileSync(join(d, 'm.bin'), 'utf8')).toBe('whole');
  }));

  it('a lock of a dead process is taken over; a live one refuses', () => withDir((d) => {
    const t = join(d, 'x');
    writeFileSync(`${t}.lock`, String(deadPid()));
    const release = lockPath(t, 'E_LOCKED', 'test');
    expect(readFileSync(`${t}.lock`, 'utf8')).toBe(String(process.pid));
    writeFileSync(`${t}.lock`, String(process.ppid));
    expect(() => lockPath(t, 'E_LOCKED', 'test')).toThrow(/another test \(pid \d+\)/);
    release();
    expect(existsSync(`${t}.lock`)).toBe(false);
  }));

  it('a directory output onto an existing file is E_OUT and leaves the file', () => withDir(async (d) => {
    writeFileSync(join(d, 'f'), 'mine');
    await expect(writeDirAtomic(join(d, 'f'), () => {})).rejects.toThrow(/exists and is not a directory/);
    expect(readFileSync(join(d, 'f'), 'utf8')).toBe('mine');
    expect(readdirSync(d)).toEqual(['f']);
  }));
});

/**
 * Atomic outputs, one place for all commands:
 *  - writeFileAtomic: write to a temp file beside the target, fsync, rename over the target: an interrupted
 *    run never leaves a truncated model, checkpoint or report file;
 *  - writeDirAtomic / replaceDirAtomic: a multi-file output (a report directory, a training run's final
 *    files) is built in a temp directory beside the target and swapped into place, so a kill leaves either
 *    the old complete set or the new complete set, never a mix;
 *  - lockPath: one writer per output (`<path>.lock` holding the pid, created with O_EXCL); a lock whose pid is
 *    gone is taken over (sweeps and training share this code);
 *  - cleanStale: temp files/dirs of killed runs are removed on the next run, and a directory swap that was
 *    killed half-way is rolled back to the old set.
 *
 * Names beside a target `<dir>/<name>` (dot-prefixed, so listings and globs skip them):
 *   `.<name>.tmp-<pid>-<rand>`  a file or directory being written;
 *   `.<name>.old-<pid>-<rand>`  the previous directory during a swap (deleted right after).
 * The pid says whether the owner is alive: only entries of dead processes are cleaned.
 *
 * Swap (directories; POSIX rename cannot exchange two directories, so it is two renames):
 *   1. build the new set in tmp; files of the old directory that the new set does not contain (a log the
 *      user redirected there, notes) are hard-linked into tmp, so they survive the swap;
 *   2. rename target -> old;  3. rename tmp -> target;  4. remove old.
 * A kill between 2 and 3 leaves no target and a complete `old`: cleanStale renames it back (the old set).
 */
import { closeSync, copyFileSync, cpSync, existsSync, fsyncSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync, unlinkSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { UserError } from './diagnostics.ts';

/** True when a process with this pid exists (EPERM: it exists but belongs to another user). */
export function pidAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

const tmpName = (path: string, kind: 'tmp' | 'old') => join(dirname(path), `.${basename(path)}.${kind}-${process.pid}-${randomBytes(4).toString('hex')}`);

/**
 * Removes temp files/dirs of `path` left by dead processes; if `path` does not exist but a dead process's
 * `.old` directory does (a swap killed between its two renames), renames that back to `path`.
 * Returns the names removed or restored (for tests and logs).
 */
export function cleanStale(path: string): string[] {
  const dir = dirname(path), name = basename(path);
  let entries: string[];
  try { entries = readdirSync(dir); } catch { return []; }
  const prefix = `.${name}.`;
  const re = /^(tmp|old)-(\d+)-[0-9a-f]+$/;
  const done: string[] = [];
  const stale = entries.filter((e) => e.startsWith(prefix)).map((e) => ({ e, m: re.exec(e.slice(prefix.length)) }))
    .filter((x): x is { e: string; m: RegExpExecArray } => !!x.m && +x.m[2] !== process.pid && !pidAlive(+x.m[2]));
  for (const { e, m } of stale.filter((x) => x.m[1] === 'old')) {
    if (!existsSync(path)) { renameSync(join(dir, e), path); done.push(`restored ${e}`); } else { rmSync(join(dir, e), { recursive: true, force: true }); done.push(e); }
  }
  for (const { e } of stale.filter((x) => x.m[1] === 'tmp')) { rmSync(join(dir, e), { recursive: true, force: true }); done.push(e); }
  // temp files of earlier versions: `.<name>.<pid>.<ms>.tmp`
  for (const e of entries) {
    const m = e.startsWith(prefix) ? /^(\d+)\.\d+\.tmp$/.exec(e.slice(prefix.length)) : null;
    if (m && +m[1] !== process.pid && !pidAlive(+m[1])) { rmSync(join(dir, e), { force: true }); done.push(e); }
  }
  return done;
}

export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  mkdirSync(dirname(path), { recursive: true });
  cleanStale(path);
  const tmp = tmpName(path, 'tmp');
  const fd = openSync(tmp, 'w');
  try {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    try { unlinkSync(tmp); } catch { /* ignore */ }
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
}

/**
 * Refuses a directory output whose path is an existing file (or anything but a directory): exit 2 with a
 * line naming the flag, instead of an EEXIST/ENOTDIR crash half-way.
 */
export function checkDirTarget(path: string, flag = '--out'): void {
  let st;
  try { st = statSync(path); } catch { return; }
  if (!st.isDirectory()) throw new UserError('E_OUT', `'${path}' exists and is not a directory; this output is a directory of several files`, { path: flag, hint: `give a directory path (e.g. ${path.replace(/\.[^./]*$/, '')}-report), or move the file away` });
}

/** A fresh temp directory beside `target` (cleaning stale ones of dead runs first). */
export function makeTempDirBeside(target: string): string {
  checkDirTarget(target);
  mkdirSync(dirname(target), { recursive: true });
  cleanStale(target);
  const tmp = tmpName(target, 'tmp');
  mkdirSync(tmp);
  return tmp;
}

/**
 * Swaps a complete directory `tmp` into place at `target` (see the header: old entries not in tmp are kept,
 * except the names in `owned`, which are the command's own outputs).
 */
export function replaceDirAtomic(target: string, tmp: string, opts: { owned?: readonly string[] } = {}): void {
  checkDirTarget(target);
  let old: string | null = null;
  if (existsSync(target)) {
    // entries the command owns (e.g. report.*) belong to the old set: never carried over, even when the new set lacks them
    const have = new Set([...readdirSync(tmp), ...(opts.owned ?? [])]);
    for (const e of readdirSync(target)) {
      if (have.has(e)) continue;
      const src = join(target, e), dst = join(tmp, e);
      if (lstatSync(src).isDirectory()) cpSync(src, dst, { recursive: true });
      else { try { linkSync(src, dst); } catch { copyFileSync(src, dst); } }
    }
    old = tmpName(target, 'old');
    renameSync(target, old);
  }
  renameSync(tmp, target);
  if (old) rmSync(old, { recursive: true, force: true });
}

/**
 * Builds a directory output atomically: `build(tmpDir)` writes every file into the temp dir (plain writes
 * are fine there: nobody reads it), then the temp dir replaces `target`. On an error the temp dir is removed.
 * `<target>.lock` is held meanwhile (two runs on one directory would race their swaps).
 */
export async function writeDirAtomic<T>(target: string, build: (tmpDir: string) => T | Promise<T>, opts: { owned?: readonly string[] } = {}): Promise<T> {
  checkDirTarget(target);
  const release = lockPath(target, 'E_LOCKED', 'birealsim command');
  try {
    const tmp = makeTempDirBeside(target);
    try {
      const r = await build(tmp);
      replaceDirAtomic(target, tmp, opts);
      return r;
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
  } finally { release(); }
}

/**
 * Takes `<path>.lock` for this process (O_EXCL create, holding the pid), or throws `code` if another live
 * process holds it; a lock whose pid is gone (a killed run) is taken over. Returns the release function.
 */
export function lockPath(path: string, code = 'E_LOCKED', what = 'run'): () => void {
  const lock = `${path}.lock`;
  mkdirSync(dirname(path), { recursive: true });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(lock, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => { try { unlinkSync(lock); } catch { /* already gone */ } };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let text = '';
      try { text = readFileSync(lock, 'utf8').trim(); } catch { continue; /* released meanwhile: retry */ }
      const pid = Number(text);
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && pidAlive(pid)) {
        throw new UserError(code, `another ${what} (pid ${pid}) is writing this file`, { file: path, hint: `wait for it to finish, or remove ${lock} if that process is not a birealsim ${what}` });
      }
      try { unlinkSync(lock); } catch { /* raced: retry */ }
    }
  }
  throw new UserError(code, `could not take the ${what} lock`, { file: path, hint: `remove ${lock}` });
}

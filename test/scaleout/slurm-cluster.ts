/**
 * A throw-away single-node Slurm cluster for tests: munged, slurmctld and slurmd from Debian's `munge` and
 * `slurm-wlm` (22.05), started on this machine with everything (munge key and socket, slurm.conf, state and
 * spool dirs, logs, the job completion log) inside one temp dir, on two free loopback ports.
 *
 * No cgroups: ProctrackType=proctrack/linuxproc, TaskPlugin=task/none, SelectType=select/cons_tres with
 * CR_Core (1 CPU per task by default, memory not a consumable). The node line is `slurmd -C`'s own reading
 * of this machine (CPUs, sockets, cores, threads, RealMemory), so slurmd never finds its node "invalid".
 * Runs as root (SlurmUser=root) or as an ordinary user (daemons and jobs then run as that user; tried as
 * `nobody`). There is no slurmdbd, so `sacct` has nothing to report; jobcomp/filetxt writes one line per finished job
 * (state, exit code) instead, and MinJobAge keeps finished jobs visible to `scontrol show job` for 10 min.
 *
 * Invariants: `stop()` cancels the cluster's jobs, shuts the daemons down and then ends whichever of the three
 * is still alive by the pid it wrote in its pid file (never by name); it is idempotent and is also run
 * at process exit, so a failed or interrupted test leaves no daemon behind. Client commands reach this cluster
 * only through `env` (SLURM_CONF), never through /etc/slurm.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { userInfo } from 'node:os';

const DAEMONS = ['munged', 'munge', 'unmunge', 'slurmctld', 'slurmd', 'sbatch', 'squeue', 'sinfo', 'scontrol', 'scancel'] as const;
const SEARCH = [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/sbin', '/sbin', '/usr/bin'];

function which(cmd: string): string | null {
  for (const d of SEARCH) { const p = join(d, cmd); if (existsSync(p)) return p; }
  return null;
}

/** Null when every program the cluster needs is installed; otherwise which are missing and how to get them. */
export function slurmMissing(): string | null {
  const missing = DAEMONS.filter((c) => !which(c));
  return missing.length ? `not installed: ${missing.join(', ')} (apt-get install -y slurm-wlm munge; .ci/run does)` : null;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const a = s.address(); s.close(() => resolve(typeof a === 'object' && a ? a.port : 0)); });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tail(file: string, lines = 60): string {
  if (!existsSync(file)) return `(${file}: not written)`;
  const all = readFileSync(file, 'utf8').split('\n');
  return all.slice(-lines).join('\n');
}

export interface SlurmCluster {
  dir: string;
  /** process.env plus SLURM_CONF: pass it to sbatch, squeue, ... (jobs inherit it through sbatch's --export=ALL) */
  env: NodeJS.ProcessEnv;
  nodeName: string;
  /** runs a Slurm client command against this cluster */
  run(cmd: string, args: string[]): SpawnSyncReturns<string>;
  /** squeue, sinfo, scontrol show job/node, sacct, the job completion log and the three daemon logs */
  diagnostics(): string;
  stop(): void;
}

/**
 * Starts munged, slurmctld and slurmd with their files under `dir` and waits (at most `readyMs`) until the
 * node is idle. Throws with the daemon logs when a daemon does not start or the node does not come up.
 */
export async function startSlurmCluster(dir: string, readyMs = 30_000): Promise<SlurmCluster> {
  const missing = slurmMissing();
  if (missing) throw new Error(`cannot start Slurm: ${missing}`);
  const bin = Object.fromEntries(DAEMONS.map((c) => [c, which(c)!])) as Record<(typeof DAEMONS)[number], string>;
  const p = (...s: string[]) => join(dir, ...s);
  for (const d of ['munge-key', 'munge-run', 'state', 'spool', 'log']) mkdirSync(p(d), { recursive: true });
  chmodSync(dir, 0o755);
  chmodSync(p('munge-key'), 0o700); // munged refuses a key readable by others
  chmodSync(p('munge-run'), 0o755); // the socket's directory must be searchable by every user
  writeFileSync(p('munge-key', 'munge.key'), randomBytes(1024), { mode: 0o600 });
  const sock = p('munge-run', 'munge.socket');
  const pidFiles = { munged: p('munge-run', 'munged.pid'), slurmctld: p('slurmctld.pid'), slurmd: p('slurmd.pid') };
  const logs = { munged: p('log', 'munged.log'), slurmctld: p('log', 'slurmctld.log'), slurmd: p('log', 'slurmd.log') };
  const conf = p('slurm.conf');
  const env: NodeJS.ProcessEnv = { ...process.env, SLURM_CONF: conf };
  const run = (cmd: string, args: string[], input?: string) => spawnSync(which(cmd) ?? cmd, args, { env, encoding: 'utf8', input, timeout: 20_000 });

  let stopped = false;
  const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };
  const pidOf = (f: string) => { try { const n = Number(readFileSync(f, 'utf8').trim()); return Number.isInteger(n) && n > 1 ? n : null; } catch { return null; } };
  const stop = () => {
    if (stopped) return;
    stopped = true;
    process.off('exit', stop);
    const ids = run('squeue', ['-h', '-o', '%A']).stdout?.split('\n').map((s) => s.trim()).filter(Boolean) ?? [];
    if (ids.length) run('scancel', ids);
    run('scontrol', ['shutdown']);
    const pids = [pidFiles.slurmd, pidFiles.slurmctld].map(pidOf).filter((x): x is number => x !== null);
    const deadline = Date.now() + 10_000;
    while (pids.some(alive) && Date.now() < deadline) spawnSync('sleep', ['0.2']);
    for (const pid of pids) if (alive(pid)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone meanwhile */ } }
    const mpid = pidOf(pidFiles.munged);
    if (mpid !== null && alive(mpid)) {
      spawnSync(bin.munged, ['-s', `--socket=${sock}`], { encoding: 'utf8', timeout: 10_000 });
      if (alive(mpid)) { try { process.kill(mpid, 'SIGTERM'); } catch { /* gone meanwhile */ } }
    }
  };
  const diagnostics = () => {
    const show = (title: string, r: SpawnSyncReturns<string>) => `--- ${title} (exit ${r.status})\n${r.stdout ?? ''}${r.stderr ?? ''}`;
    return [
      show('squeue -a -l', run('squeue', ['-a', '-l'])),
      show('sinfo -N -l', run('sinfo', ['-N', '-l'])),
      show('scontrol show job -d', run('scontrol', ['show', 'job', '-d'])),
      show('scontrol show node', run('scontrol', ['show', 'node'])),
      show('sacct -a (no slurmdbd here: the job completion log below has the same facts)', run('sacct', ['-a'])),
      `--- job completion log ${p('log', 'jobcomp.log')}\n${tail(p('log', 'jobcomp.log'))}`,
      `--- ${logs.slurmctld}\n${tail(logs.slurmctld)}`,
      `--- ${logs.slurmd}\n${tail(logs.slurmd)}`,
      `--- ${logs.munged}\n${tail(logs.munged, 20)}`,
    ].join('\n');
  };
  process.once('exit', stop);

  try {
    // munged: own key, own socket; -f because it may run as root and the temp dir's parents are not its own
    const m = spawnSync(bin.munged, ['-f', `--key-file=${p('munge-key', 'munge.key')}`, `--socket=${sock}`, `--pid-file=${pidFiles.munged}`, `--log-file=${logs.munged}`, `--seed-file=${p('munge-key', 'munged.seed')}`], { encoding: 'utf8', timeout: 20_000 });
    if (m.status !== 0) throw new Error(`munged did not start (exit ${m.status}): ${m.stderr}\n${tail(logs.munged)}`);
    const cred = spawnSync(bin.munge, ['-n', `--socket=${sock}`], { encoding: 'utf8', timeout: 10_000 });
    const check = spawnSync(bin.unmunge, [`--socket=${sock}`], { encoding: 'utf8', input: cred.stdout, timeout: 10_000 });
    if (cred.status !== 0 || check.status !== 0) throw new Error(`munge round trip failed: ${cred.stderr}${check.stdout}${check.stderr}\n${tail(logs.munged)}`);

    const probe = spawnSync(bin.slurmd, ['-C'], { encoding: 'utf8', timeout: 20_000 });
    const nodeLine = (probe.stdout ?? '').split('\n').find((l) => l.startsWith('NodeName='));
    if (probe.status !== 0 || !nodeLine) throw new Error(`slurmd -C did not describe this machine (exit ${probe.status}): ${probe.stdout}${probe.stderr}`);
    const nodeName = /^NodeName=(\S+)/.exec(nodeLine)![1];
    const [ctldPort, dPort] = [await freePort(), await freePort()];
    const me = userInfo();
    const slurmUser = me.uid === 0 ? 'root' : me.username;
    writeFileSync(conf, [
      `# written by test/scaleout/slurm-cluster.ts: a single-node cluster living in ${dir}`,
      'ClusterName=birealsim-test',
      `SlurmctldHost=${nodeName}(127.0.0.1)`,
      `SlurmctldPort=${ctldPort}`,
      `SlurmdPort=${dPort}`,
      `SlurmUser=${slurmUser}`,
      `SlurmdUser=${slurmUser}`,
      'AuthType=auth/munge',
      'CredType=cred/munge',
      `AuthInfo=socket=${sock}`,
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_Core',
      'JobAcctGatherType=jobacct_gather/none',
      'AccountingStorageType=accounting_storage/none',
      'JobCompType=jobcomp/filetxt',
      `JobCompLoc=${p('log', 'jobcomp.log')}`,
      'MinJobAge=600',
      'ReturnToService=2',
      'MpiDefault=none',
      'MailProg=/bin/true',
      `StateSaveLocation=${p('state')}`,
      `SlurmdSpoolDir=${p('spool')}`,
      `SlurmctldPidFile=${pidFiles.slurmctld}`,
      `SlurmdPidFile=${pidFiles.slurmd}`,
      `SlurmctldLogFile=${logs.slurmctld}`,
      `SlurmdLogFile=${logs.slurmd}`,
      'SlurmctldDebug=info',
      'SlurmdDebug=info',
      `${nodeLine.trim().replace(/\s+UpTime=\S+/, '')} NodeAddr=127.0.0.1 State=UNKNOWN`,
      `PartitionName=test Nodes=${nodeName} Default=YES MaxTime=INFINITE State=UP`,
      '',
    ].join('\n'));

    const ctld = run('slurmctld', ['-i', '-f', conf]);
    if (ctld.status !== 0) throw new Error(`slurmctld did not start (exit ${ctld.status}): ${ctld.stderr}\n${tail(logs.slurmctld)}`);
    const d = run('slurmd', ['-f', conf]);
    if (d.status !== 0) throw new Error(`slurmd did not start (exit ${d.status}): ${d.stderr}\n${tail(logs.slurmd)}`);
    const deadline = Date.now() + readyMs;
    let state = '';
    while (Date.now() < deadline) {
      state = (run('sinfo', ['-h', '-N', '-o', '%T']).stdout ?? '').trim();
      if (state === 'idle') break;
      await sleep(250);
    }
    if (state !== 'idle') throw new Error(`node ${nodeName} not idle after ${readyMs / 1000} s (state '${state}')\n${diagnostics()}`);
    return { dir, env, nodeName, run: (cmd, args) => run(cmd, args), diagnostics, stop };
  } catch (e) {
    stop();
    throw e;
  }
}

// `npm run bench:fleet -- --devices N [--sim-procs P]`: how the fleet server
// holds up under N simulated boxes. The fleet runs as its own process (its CPU
// and memory are what we measure); the simulated agents, the same Agent code as
// on a box, run in P simulator processes (fleet-sim-worker.ts, each a slice of
// the devices), because one process cannot keep 10,000 agents' keepalives. Prints:
//   - time until all N are online (from starting the simulators; enrolment included, and separately;
//     at most --concurrency boxes enrol or connect at once, so enrolment is paced by the fleet's connects)
//   - progress every 5 s while ramping: online, rate, CPU of fleet and simulators, their event-loop lag, load
//   - fleet CPU (% of one core) and RSS in steady state
//   - the reconnect storm: the fleet restarted under its N boxes (SIGTERM and
//     started again on the same data, as systemd restarts it on an update):
//     time until all N are online again, from the stop and from the new
//     process's start, the fleet's CPU meanwhile, and the alerts it opened
//     (goal: all back within 20 s, no alert; the boxes enrol no more)
//   - crash → alert latency p50/p99: agents whose socket is cut without DISCONNECT
//   - silent loss → alert latency: real agent processes frozen with SIGSTOP
//   - the reference: Debian's mosquitto (started here on a free port, minimal config, anonymous)
//     under the same load: the same enrolled agents, re-run with their broker URL pointed at it;
//     its CPU beside the fleet's, per process (--no-mosquitto leaves it out)
//   - what else was running on the machine, at the start and before each measurement window
// Everything runs on 127.0.0.1, ephemeral ports, a temp dir removed at the end.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SimPool } from './fleet-sim-pool.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ADMIN = 'bench-admin-token-0123456789abcdef';
const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '1000' },
    keepalive: { type: 'string', default: '10' },
    'telemetry-interval': { type: 'string', default: '10' },
    crash: { type: 'string', default: '50' },
    silent: { type: 'string', default: '5' },
    'steady-sec': { type: 'string', default: '30' },
    // Boxes enrolling and connecting at once, over all simulators. Each first
    // connect costs the fleet a scan of every retained message (aedes' memory
    // persistence), 0.1-0.2 s at 10,000 boxes: more in flight only queues at
    // the fleet, past the agents' 15 s connect timeout and the keepalive grace.
    concurrency: { type: 'string', default: '25' },
    // Default: a process per 2,500 devices, at most one per core (the fleet needs CPU too).
    'sim-procs': { type: 'string' },
    'keep-data': { type: 'boolean', default: false },
    'no-mosquitto': { type: 'boolean', default: false },
    // Skips the restart under the boxes (phase 3).
    'no-storm': { type: 'boolean', default: false },
    // Writes a V8 CPU profile of the fleet (node --cpu-prof) to this folder; the
    // fleet is stopped (SIGTERM) right after the steady window so the profile is
    // written, and the window's bounds are printed in the profile's clock.
    'cpu-prof': { type: 'string' },
    // The fleet as the image runs it: `npm run build`'s fleet/dist/main.mjs under
    // plain node (built here first), instead of the sources through tsx.
    compiled: { type: 'boolean', default: false },
  },
});
const N = Number(values.devices);
const keepaliveSec = Number(values.keepalive);
const intervalSec = Number(values['telemetry-interval']);
const crashCount = Math.min(Number(values.crash), N);
const silentCount = Number(values.silent);
const steadySec = Number(values['steady-sec']);
const simProcs = Math.max(
  1,
  Math.min(N, Number(values['sim-procs'] ?? Math.min(os.cpus().length, Math.ceil(N / 2500)))),
);
const say = (msg: string): void => void process.stdout.write(`[bench] ${msg}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** Runs a program of the repository: TypeScript through tsx, a built .mjs as it is. */
function spawnNode(entry: string, env: Record<string, string>, logFile: string, nodeArgs: string[] = []): ChildProcess {
  const out = fs.openSync(logFile, 'a');
  const loader = entry.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const child = spawn(process.execPath, [...nodeArgs, ...loader, path.join(root, entry)], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  return child;
}

async function api<T>(base: string, p: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const res = await fetch(`${base}${p}`, {
    method: init.method ?? 'GET',
    headers: {
      authorization: `Bearer ${ADMIN}`,
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    signal: AbortSignal.timeout(30_000),
  });
  if (!res.ok) throw new Error(`${p}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** utime+stime of a process in seconds, and its RSS in MiB, from /proc. */
function procStats(pid: number): { cpuSec: number; rssMiB: number } {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14, 15 of proc(5))
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  return { cpuSec: ticks / 100, rssMiB: rssKb / 1024 };
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
};

interface Alert {
  type: string;
  deviceId: string | null;
  openedAt: string;
  details?: unknown;
}

/** Waits for a device-offline alert per device (or a district incident naming it); returns openedAt per device. */
async function waitAlerts(
  base: string,
  ids: Set<string>,
  timeoutMs: number,
): Promise<Map<string, { at: number; type: string }>> {
  const found = new Map<string, { at: number; type: string }>();
  const end = Date.now() + timeoutMs;
  while (found.size < ids.size && Date.now() < end) {
    const { items } = await api<{ items: Alert[] }>(base, '/api/v1/alerts?state=open');
    for (const a of items) {
      const named =
        a.deviceId && ids.has(a.deviceId)
          ? [a.deviceId]
          : [...ids].filter((id) => JSON.stringify(a.details ?? '').includes(id));
      for (const id of named) if (!found.has(id)) found.set(id, { at: Date.parse(a.openedAt), type: a.type });
    }
    await sleep(200);
  }
  return found;
}

/** The fleet's counters of one family from /metrics, by label set ("" when it has none). */
async function counters(base: string, family: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const text = await fetch(`${base}/metrics`, {
    headers: { authorization: `Bearer ${ADMIN}` },
    signal: AbortSignal.timeout(10_000),
  })
    .then((r) => r.text())
    .catch(() => '');
  for (const line of text.split('\n')) {
    if (!line.startsWith(family)) continue;
    const m = /^(\w+)(\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
    if (m && m[1] === family) out.set(m[2] ?? '', Number(m[3]));
  }
  return out;
}

const listCounters = (m: Map<string, number>): string =>
  m.size === 0
    ? 'none'
    : [...m]
        .filter(([, n]) => n > 0)
        .map(([k, n]) => `${k.replace(/[{}"]/g, '') || 'all'} ${n}`)
        .join(', ') || 'none';

/** CPU (% of one core) of each process between two looks, from /proc. */
class CpuMeter {
  private last = new Map<number, { cpuSec: number; at: number }>();
  /** Percent since the previous call for this pid; NaN on the first call and once the process is gone. */
  sample(pid: number): number {
    const now = Date.now();
    let cpuSec: number;
    try {
      cpuSec = procStats(pid).cpuSec;
    } catch {
      return NaN;
    }
    const prev = this.last.get(pid);
    this.last.set(pid, { cpuSec, at: now });
    return prev && now > prev.at ? ((cpuSec - prev.cpuSec) / ((now - prev.at) / 1000)) * 100 : NaN;
  }
}

const load1 = (): string => os.loadavg()[0]!.toFixed(2);

/** The busiest processes over one second (top's second sample), ours included: what else shared the cores. */
function busiest(n = 6): string {
  try {
    const out = execFileSync('top', ['-b', '-n', '2', '-d', '1', '-w', '200'], { encoding: 'utf8' });
    const block = out.slice(out.lastIndexOf('PID USER'));
    return block
      .split('\n')
      .slice(1, n + 1)
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f.length >= 12)
      .map((f) => `${f[11]}(${f[0]}) ${f[8]}%`)
      .join(', ');
  } catch {
    return 'top unavailable';
  }
}

/** Debian's mosquitto on a free port: a listener on 127.0.0.1, anonymous, no persistence, no log file. */
async function startMosquitto(dir: string): Promise<{ proc: ChildProcess; url: string }> {
  const port = await freePort();
  const conf = path.join(dir, 'mosquitto.conf');
  fs.writeFileSync(
    conf,
    `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_keepalive 65535\nlog_dest stderr\nlog_type error\nlog_type warning\n`,
  );
  const out = fs.openSync(path.join(dir, 'mosquitto.log'), 'a');
  const proc = spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: ['ignore', out, out] });
  fs.closeSync(out);
  for (let i = 0; i < 100; i++) {
    if (proc.exitCode !== null)
      throw new Error(`mosquitto exited: ${fs.readFileSync(path.join(dir, 'mosquitto.log'), 'utf8').slice(-1000)}`);
    const up = await new Promise<boolean>((r) => {
      const c = net.connect(port, '127.0.0.1', () => (c.end(), r(true))).once('error', () => r(false));
    });
    if (up) return { proc, url: `mqtt://127.0.0.1:${port}` };
    await sleep(100);
  }
  throw new Error('mosquitto did not listen within 10 s');
}

async function main(): Promise<void> {
  if (values.compiled)
    execFileSync(process.execPath, [path.join(root, 'scripts/build.mjs')], { cwd: root, stdio: 'inherit' });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-bench-'));
  // The simulated boxes' folders (10,000 queues and identities) go to memory
  // where there is a tmpfs: each real box has a disk of its own, and 40,000
  // small files on this machine's one disk would measure that disk instead.
  const simRoot = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : tmp, 'diemcau-bench-sim-'));
  const children: ChildProcess[] = [];
  let pool: SimPool | undefined;
  const cleanup = async (): Promise<void> => {
    pool?.close();
    for (const c of children) {
      c.kill('SIGCONT');
      c.kill('SIGKILL');
    }
    if (!values['keep-data']) for (const d of [simRoot, tmp]) fs.rmSync(d, { recursive: true, force: true });
  };
  process.on('SIGINT', () => {
    // Simulators, fleet and frozen agents go at once; never wait more than 10 s on the rest.
    setTimeout(() => process.exit(130), 10_000).unref();
    pool?.close();
    for (const c of children) c.kill('SIGKILL');
    void cleanup().then(() => process.exit(130));
  });
  try {
    const [httpPort, mqttPort] = [await freePort(), await freePort()];
    const base = `http://127.0.0.1:${httpPort}`;
    say(
      `N=${N} keepalive=${keepaliveSec}s telemetry every ${intervalSec}s; ${simProcs} simulator process${simProcs === 1 ? '' : 'es'}; ` +
        `the fleet ${values.compiled ? 'built (fleet/dist/main.mjs, plain node)' : 'from its sources through tsx'}; ` +
        `no cap on MQTT connections per address (all boxes are on 127.0.0.1); ` +
        `host ${os.cpus().length} cores, load ${os
          .loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')}; data in ${tmp} (simulated boxes in ${simRoot})`,
    );
    const fleetEnv = {
      DIEMCAU_HOST: '127.0.0.1',
      DIEMCAU_HTTP_PORT: String(httpPort),
      DIEMCAU_MQTT_PORT: String(mqttPort),
      DIEMCAU_DATA_DIR: path.join(tmp, 'fleet'),
      DIEMCAU_ADMIN_TOKEN: ADMIN,
      DIEMCAU_LOG_LEVEL: 'warn',
      // Every simulated box connects from 127.0.0.1: one "address" with N boxes behind it.
      DIEMCAU_MQTT_MAX_CONNECTIONS_PER_ADDRESS: '0',
    };
    /** Starts the fleet process and waits until /healthz answers. */
    const startFleet = async (): Promise<ChildProcess> => {
      const child = spawnNode(
        values.compiled ? 'fleet/dist/main.mjs' : 'fleet/src/main.ts',
        fleetEnv,
        path.join(tmp, 'fleet.log'),
        values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(values['cpu-prof'])}`] : [],
      );
      children.push(child);
      for (let i = 0; ; i++) {
        if (child.exitCode !== null)
          throw new Error(`fleet exited: ${fs.readFileSync(path.join(tmp, 'fleet.log'), 'utf8').slice(-2000)}`);
        if (
          await fetch(`${base}/healthz`)
            .then((r) => r.ok)
            .catch(() => false)
        )
          return child;
        if (i > 1500) throw new Error('the fleet did not answer within 5 min');
        await sleep(200);
      }
    };
    const t0 = Date.now();
    let fleet = await startFleet();

    /**
     * SIGTERM, then the same fleet started again on the same data. Prints the
     * time until every box is online again and the alerts opened meanwhile.
     */
    const restartUnderBoxes = async (old: ChildProcess): Promise<ChildProcess> => {
      const stoppedAt = Date.now();
      const exited = new Promise((r) => old.once('exit', r));
      old.kill('SIGTERM');
      const killer = setTimeout(() => old.kill('SIGKILL'), 60_000);
      await exited;
      clearTimeout(killer);
      const downSec = (Date.now() - stoppedAt) / 1000;
      const startedAt = Date.now();
      const next = await startFleet();
      const upSec = (Date.now() - startedAt) / 1000;
      say(
        `STORM: fleet stopped (SIGTERM) in ${downSec.toFixed(1)} s and answering again ${upSec.toFixed(1)} s after its start; ${N} boxes reconnecting`,
      );
      const meter = new CpuMeter();
      meter.sample(next.pid!);
      const cpuAtStart = procStats(next.pid!).cpuSec;
      let online = 0;
      let agents = 0;
      let lastPrint = Date.now();
      let maxLoad = 0;
      // The agents' view comes once a second: wait for one taken after the new fleet answered.
      await sleep(1500);
      while (online < N || agents < N) {
        const failed = pool?.failure();
        if (failed) throw new Error(`a simulator failed: ${failed}`);
        if (next.exitCode !== null)
          throw new Error(`fleet exited: ${fs.readFileSync(path.join(tmp, 'fleet.log'), 'utf8').slice(-2000)}`);
        const h = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(10_000) })
          .then((r) => r.json() as Promise<{ devicesOnline: number }>)
          .catch(() => undefined);
        online = h?.devicesOnline ?? online;
        agents = pool!.progress().connected;
        maxLoad = Math.max(maxLoad, os.loadavg()[0]!);
        if (Date.now() - lastPrint >= 5000) {
          lastPrint = Date.now();
          say(
            `  ${online}/${N} online, ${agents} agents connected, ${((Date.now() - stoppedAt) / 1000).toFixed(0)} s after the stop; ` +
              `CPU fleet ${meter.sample(next.pid!).toFixed(0)}%, simulators ${pool!.pids.map((pid) => meter.sample(pid).toFixed(0)).join('+')}%; load ${load1()}`,
          );
        }
        if (Date.now() - stoppedAt > 1_200_000) throw new Error('not all back within 20 min of the restart');
        await sleep(250);
      }
      const backAt = Date.now();
      const cpuPct = ((procStats(next.pid!).cpuSec - cpuAtStart) / ((backAt - startedAt) / 1000)) * 100;
      // Alerts: those opened since the stop, once the reconnect grace (30 s by default) is over.
      await sleep(Math.max(0, startedAt + 40_000 - Date.now()));
      const { items } = await api<{ items: Alert[] }>(base, '/api/v1/alerts?limit=5000');
      const opened = items.filter((a) => Date.parse(a.openedAt) >= stoppedAt);
      // The new process counts from zero: these are the storm's.
      say(
        `STORM: logins refused by reason: ${listCounters(await counters(base, 'diemcau_mqtt_auth_failures_total'))}; ` +
          `passwords checked: ${listCounters(await counters(base, 'diemcau_mqtt_password_checks_total'))}`,
      );
      const byType = new Map<string, number>();
      for (const a of opened) byType.set(a.type, (byType.get(a.type) ?? 0) + 1);
      say(
        `STORM: all ${N} back online ${((backAt - stoppedAt) / 1000).toFixed(1)} s after the stop, ` +
          `${((backAt - startedAt) / 1000).toFixed(1)} s after the new process started (goal ≤ 20 s); ` +
          `fleet ${cpuPct.toFixed(0)}% of a core on average meanwhile, RSS ${procStats(next.pid!).rssMiB.toFixed(0)} MiB; load up to ${maxLoad.toFixed(2)}; ` +
          `alerts opened: ${opened.length === 0 ? 'none' : [...byType].map(([t, n]) => `${n} ${t}`).join(', ')} (goal: none, or one incident)`,
      );
      return next;
    };
    say(
      `fleet up in ${((Date.now() - t0) / 1000).toFixed(1)} s (pid ${fleet.pid}); busiest processes now: ${busiest()}`,
    );

    // 1. Start the simulator processes; time until the fleet reports all N online and the agents agree.
    const tStart = Date.now();
    pool = new SimPool(
      path.join(root, 'bench/fleet-sim-worker.ts'),
      root,
      simProcs,
      {
        fleetUrl: base,
        adminToken: ADMIN,
        devices: N,
        dataRoot: simRoot,
        telemetryIntervalSec: intervalSec,
        keepaliveSec,
        concurrency: Number(values.concurrency),
      },
      tmp,
    );
    say(
      `simulators: pids ${pool.pids.join(', ')}, ${Math.ceil(Number(values.concurrency) / simProcs)} boxes starting at once in each`,
    );
    const cpu = new CpuMeter();
    cpu.sample(fleet.pid!);
    for (const pid of pool.pids) cpu.sample(pid);
    const fleetAtStart = procStats(fleet.pid!).cpuSec;
    let online = 0;
    let agentsUp = 0;
    let lastPrint = Date.now();
    let onlineAtLastPrint = 0;
    let maxLoad = 0;
    let maxLag = 0;
    // All online: the fleet counts N, and every agent has its session up (subscribed, birth acknowledged).
    while (online < N || agentsUp < N) {
      const failed = pool.failure();
      if (failed) throw new Error(`a simulator failed: ${failed}`);
      if (fleet.exitCode !== null)
        throw new Error(`fleet exited: ${fs.readFileSync(path.join(tmp, 'fleet.log'), 'utf8').slice(-2000)}`);
      const h = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(10_000) })
        .then((r) => r.json() as Promise<{ devicesOnline: number }>)
        .catch(() => undefined);
      online = h?.devicesOnline ?? online;
      maxLoad = Math.max(maxLoad, os.loadavg()[0]!);
      const p = pool.progress();
      agentsUp = p.connected;
      maxLag = Math.max(maxLag, p.lagMaxMs);
      if (Date.now() - lastPrint >= 5000) {
        const rate = ((online - onlineAtLastPrint) / (Date.now() - lastPrint)) * 1000;
        lastPrint = Date.now();
        onlineAtLastPrint = online;
        const simCpu = pool.pids.map((pid) => cpu.sample(pid).toFixed(0)).join('+');
        say(
          `  ${online}/${N} online after ${((Date.now() - tStart) / 1000).toFixed(0)} s (${rate >= 0 ? '+' : ''}${rate.toFixed(0)}/s); ` +
            `agents: ${p.started} started, ${p.connected} connected, ${p.reconnects} reconnects; ` +
            `CPU fleet ${cpu.sample(fleet.pid!).toFixed(0)}%, simulators ${simCpu}% (loop lag p99 ${p.lagP99Ms} ms, max ${p.lagMaxMs} ms); load ${load1()}`,
        );
      }
      if (Date.now() - tStart > 3_600_000) throw new Error('not all online within an hour');
      await sleep(250);
    }
    const allOnlineSec = (Date.now() - tStart) / 1000;
    // The agents' view arrives once a second, so the last simulator's "started" may still be on its way.
    for (let i = 0; i < 40 && pool.allStartedAt() === undefined; i++) await sleep(250);
    const startedAt = pool.allStartedAt();
    const rampFleetCpu = ((procStats(fleet.pid!).cpuSec - fleetAtStart) / allOnlineSec) * 100;
    say(
      `ALL ONLINE: ${N} devices in ${allOnlineSec.toFixed(1)} s ` +
        `(every agent enrolled and started after ${startedAt === undefined ? '?' : ((startedAt - tStart) / 1000).toFixed(1)} s, ` +
        `enrolments waiting for one of ${values.concurrency} slots held until a box's session is up; ` +
        `fleet ${rampFleetCpu.toFixed(0)}% of a core on average meanwhile; worst simulator loop lag ${maxLag} ms; load up to ${maxLoad.toFixed(2)})`,
    );

    // 2. Steady state: fleet CPU and RSS over a window with telemetry flowing.
    await sleep(Math.min(10_000, intervalSec * 1000));
    say(`busiest processes before the window: ${busiest()}`);
    const a = procStats(fleet.pid!);
    const simA = pool.pids.map((pid) => procStats(pid));
    const reconnectsA = pool.progress().reconnects;
    await sleep(steadySec * 1000);
    const b = procStats(fleet.pid!);
    const simB = pool.pids.map((pid) => procStats(pid));
    const fleetCpuPct = ((b.cpuSec - a.cpuSec) / steadySec) * 100;
    const fleetSimPct = simB.reduce((x, s, i) => x + ((s.cpuSec - simA[i]!.cpuSec) / steadySec) * 100, 0);
    const simPct = simB.map((s, i) => ((s.cpuSec - simA[i]!.cpuSec) / steadySec) * 100);
    const windowEnd = Date.now();
    const sp = pool.progress();
    say(
      `STEADY: fleet CPU ${fleetCpuPct.toFixed(1)}% of one core, RSS ${b.rssMiB.toFixed(0)} MiB ` +
        `(${simProcs} simulator process${simProcs === 1 ? '' : 'es'}: CPU ${simPct.reduce((x, y) => x + y, 0).toFixed(1)}% [${simPct.map((x) => x.toFixed(0)).join('+')}], ` +
        `RSS ${simB.reduce((x, s) => x + s.rssMiB, 0).toFixed(0)} MiB, loop lag p99 ${sp.lagP99Ms} ms, ` +
        `${sp.reconnects - reconnectsA} reconnects in the window; load ${load1()})`,
    );

    if (values['cpu-prof']) {
      // Each profile is written when its fleet process exits; its clock ends there.
      const ago = (t: number): string => ((Date.now() - t) / 1000).toFixed(1);
      const steadyAgo = `from ${ago(windowEnd - steadySec * 1000)} s to ${ago(windowEnd)} s`;
      if (values['no-storm']) {
        fleet.kill('SIGTERM');
        await new Promise((r) => fleet.once('exit', r));
        say(`CPU profile in ${values['cpu-prof']}: the steady window is ${steadyAgo} before the profile's end`);
        return;
      }
      // The first profile ends with the storm's stop; the second covers the restarted fleet until all are back.
      say(`CPU profiles in ${values['cpu-prof']}: the steady window is ${steadyAgo} before the first one's end`);
      fleet = await restartUnderBoxes(fleet);
      const stopAt = Date.now();
      fleet.kill('SIGTERM');
      await new Promise((r) => fleet.once('exit', r));
      say(
        `the second profile (the restarted fleet, from its start) ends ${ago(stopAt)} s after every box was back and the alerts read`,
      );
      return;
    }

    // 3. The reconnect storm: the fleet restarted under its boxes, which all come back at once.
    if (!values['no-storm']) fleet = await restartUnderBoxes(fleet);

    // 4. Crash → alert: cut the socket of agents spread over the sites (no DISCONNECT, no reconnect).
    const step = Math.max(1, Math.floor(N / Math.max(1, crashCount)));
    const victims = Array.from({ length: N }, (_, i) => i)
      .filter((i) => i % step === 0)
      .slice(0, crashCount);
    const crashedAt = await pool.crash(victims, 20);
    const crashAlerts = await waitAlerts(base, new Set(crashedAt.keys()), 60_000);
    const crashLat = [...crashAlerts].map(([id, a]) => a.at - crashedAt.get(id)!);
    const types = [...new Set([...crashAlerts.values()].map((a) => a.type))].join(', ');
    say(
      `CRASH→ALERT: ${crashAlerts.size}/${victims.length} alerted (${types}); p50 ${pct(crashLat, 50)} ms, p99 ${pct(crashLat, 99)} ms, max ${Math.max(...crashLat)} ms`,
    );

    // 5. Silent loss: real agent processes frozen with SIGSTOP (socket stays open, nothing sent).
    const sites = (
      await api<{ items: { id: string; kind: string; parentId: string | null }[] }>(base, '/api/v1/sites')
    ).items.filter((s) => s.parentId === null && s.kind !== 'district');
    const frozen: { proc: ChildProcess; id: string }[] = [];
    for (let i = 0; i < silentCount; i++) {
      const { token } = await api<{ token: string }>(
        base,
        `/api/v1/sites/${sites[i % sites.length]!.id}/enrollment-tokens`,
        { method: 'POST', body: { uses: 1 } },
      );
      const dir = path.join(tmp, `silent-${i}`);
      const proc = spawnNode(
        'appliance/src/main.ts',
        {
          DIEMCAU_FLEET_URL: base,
          DIEMCAU_ENROLL_TOKEN: token,
          DIEMCAU_DATA_DIR: dir,
          DIEMCAU_HARDWARE: 'simulated',
          DIEMCAU_KEEPALIVE_SEC: String(keepaliveSec),
          DIEMCAU_LOG_LEVEL: 'warn',
        },
        path.join(tmp, `silent-${i}.log`),
      );
      children.push(proc);
      frozen.push({ proc, id: '' });
    }
    for (const [i, f] of frozen.entries()) {
      const file = path.join(tmp, `silent-${i}`, 'identity.json');
      while (!fs.existsSync(file)) await sleep(200);
      f.id = (JSON.parse(fs.readFileSync(file, 'utf8')) as { deviceId: string }).deviceId;
      while (
        !(await api<{ online: boolean }>(base, `/api/v1/devices/${f.id}`)
          .then((d) => d.online)
          .catch(() => false))
      )
        await sleep(200);
    }
    const stoppedAt = new Map<string, number>();
    for (const f of frozen) {
      stoppedAt.set(f.id, Date.now());
      f.proc.kill('SIGSTOP');
    }
    const silentAlerts = await waitAlerts(base, new Set(stoppedAt.keys()), keepaliveSec * 5000 + 30_000);
    const silentLat = [...silentAlerts].map(([id, a]) => a.at - stoppedAt.get(id)!);
    say(
      `SILENT→ALERT: ${silentAlerts.size}/${frozen.length} alerted; p50 ${pct(silentLat, 50)} ms, max ${Math.max(...silentLat)} ms ` +
        `(goal ≤ 1.5 × keepalive + 1 s = ${1.5 * keepaliveSec * 1000 + 1000} ms)`,
    );
    const end = procStats(fleet.pid!);
    say(`fleet RSS at the end ${end.rssMiB.toFixed(0)} MiB`);

    // 6. The reference: the same agents (enrolled above, so they need the fleet only to list sites)
    // on mosquitto. The fleet keeps running, idle, and its CPU is printed too.
    if (!values['no-mosquitto'] && fs.existsSync('/usr/sbin/mosquitto')) {
      pool.close();
      for (const f of frozen) f.proc.kill('SIGKILL');
      const mosq = await startMosquitto(tmp);
      children.push(mosq.proc);
      // `mosquitto -h` prints its version first and exits with 3.
      const version = spawnSync('/usr/sbin/mosquitto', ['-h'], { encoding: 'utf8' }).stdout.split('\n')[0];
      const refPool = new SimPool(
        path.join(root, 'bench/fleet-sim-worker.ts'),
        root,
        simProcs,
        {
          fleetUrl: base,
          adminToken: ADMIN,
          devices: N,
          dataRoot: simRoot,
          telemetryIntervalSec: intervalSec,
          keepaliveSec,
          concurrency: Number(values.concurrency),
          mqttUrl: mosq.url,
        },
        tmp,
      );
      pool = refPool;
      const tRef = Date.now();
      while (refPool.progress().connected < N) {
        const failed = refPool.failure();
        if (failed) throw new Error(`a simulator failed: ${failed}`);
        if (Date.now() - tRef > 1_800_000) throw new Error('not every agent connected to mosquitto within 30 min');
        await sleep(250);
      }
      say(
        `MOSQUITTO (${version}, pid ${mosq.proc.pid}): ${N} agents connected in ${((Date.now() - tRef) / 1000).toFixed(1)} s`,
      );
      await sleep(Math.min(10_000, intervalSec * 1000));
      say(`busiest processes before the window: ${busiest()}`);
      const ma = procStats(mosq.proc.pid!);
      const fa = procStats(fleet.pid!);
      const sa = refPool.pids.map((pid) => procStats(pid));
      await sleep(steadySec * 1000);
      const mb = procStats(mosq.proc.pid!);
      const fb = procStats(fleet.pid!);
      const sb = refPool.pids.map((pid) => procStats(pid));
      const mosqPct = ((mb.cpuSec - ma.cpuSec) / steadySec) * 100;
      const simPct = sb.map((x, i) => ((x.cpuSec - sa[i]!.cpuSec) / steadySec) * 100);
      say(
        `STEADY on mosquitto: mosquitto CPU ${mosqPct.toFixed(1)}% of one core, RSS ${mb.rssMiB.toFixed(0)} MiB; ` +
          `simulators ${simPct.reduce((x, y) => x + y, 0).toFixed(1)}% [${simPct.map((x) => x.toFixed(0)).join('+')}]; ` +
          `the fleet, idle meanwhile, ${(((fb.cpuSec - fa.cpuSec) / steadySec) * 100).toFixed(1)}%; load ${load1()}`,
      );
      say(
        `FLEET vs MOSQUITTO (same agents, same ${steadySec} s window length): fleet ${fleetCpuPct.toFixed(1)}% vs mosquitto ${mosqPct.toFixed(1)}% ` +
          `of one core = ${(fleetCpuPct / mosqPct).toFixed(1)}x (goal <= 4x); simulators ${fleetSimPct.toFixed(0)}% vs ${simPct.reduce((x, y) => x + y, 0).toFixed(0)}%`,
      );
    }
  } finally {
    await cleanup();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`[bench] failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);

// `npm run bench:cluster -- --devices N`: the fleet as two nodes on one Redis,
// N simulated boxes (the agent's own code, in one simulator process per node,
// each enrolled through its node and given both brokers), then the leader is
// killed with SIGKILL. Prints:
//   - time until all N are online; every process's CPU (% of one core) and RSS
//     in steady state (both nodes, Redis, the simulators)
//   - after the kill: time until every box is connected to the survivor and
//     counted online, the alerts opened (device and node), telemetry lost
//     (gaps in each box's sequence numbers)
//   - while ramping, every 15 s: boxes enrolled and online, and the rate of each
//     since the last line; at the end the average enrolment and connection rates
// On 2 cores the simulators compete with the nodes: read the CPU lines to see
// what bound the result. The registry is one SQLite file shared by both node
// processes (one machine), or with --store postgres a PostgreSQL started here.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ADMIN = 'bench-admin-token-0123456789abcdef';
const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '1000' },
    'telemetry-interval': { type: 'string', default: '10' },
    keepalive: { type: 'string', default: '10' },
    'steady-sec': { type: 'string', default: '20' },
    // Simulator processes, shared out over the two nodes (one per node at least); at 10,000 boxes one
    // process per 2,500 keeps each event loop short enough for the keepalives.
    'sim-procs': { type: 'string' },
    // Which node dies: the one that leads, or the one holding the most boxes.
    kill: { type: 'string', default: 'leader' },
    // Keep the logs and the registry (the temp dir) for a look afterwards.
    'keep-data': { type: 'boolean', default: false },
    // Skip the rolling restart of both nodes after the kill.
    'no-rolling': { type: 'boolean', default: false },
    // The store of record: one SQLite file shared by both node processes, or a PostgreSQL
    // (Debian's server, started here on a free port with its default durability settings).
    store: { type: 'string', default: 'sqlite' },
    // Write each node's V8 CPU profile into this folder (nodes are stopped with SIGTERM at the end so they write it).
    'cpu-prof': { type: 'string' },
    // The nodes as the image runs them: `npm run build`'s fleet/dist/main.mjs under
    // plain node (built here first), instead of the sources through tsx.
    compiled: { type: 'boolean', default: false },
  },
});
/** How a node is started, after node's own options. */
const NODE_ENTRY = values.compiled ? ['fleet/dist/main.mjs'] : ['--import', 'tsx', 'fleet/src/main.ts'];
const N = Number(values.devices);
const simProcs = Math.max(2, 2 * Math.ceil(Number(values['sim-procs'] ?? Math.ceil(N / 2500)) / 2));
const steadySec = Number(values['steady-sec']);
const say = (msg: string): void => void process.stdout.write(`[bench] ${msg}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const load1 = (): string => os.loadavg()[0]!.toFixed(2);

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

const children: ChildProcess[] = [];
let stopPostgres: (() => void) | undefined;
/** Scratch directories an interrupted bench removes (the simulators' state in /dev/shm is memory). */
const scratch: string[] = [];
function start(cmd: string, args: string[], env: Record<string, string>, logFile: string): ChildProcess {
  const out = fs.openSync(logFile, 'a');
  const child = spawn(cmd, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', out, out] });
  fs.closeSync(out);
  children.push(child);
  return child;
}

async function api<T>(base: string, p: string): Promise<T> {
  const res = await fetch(`${base}${p}`, {
    headers: { authorization: `Bearer ${ADMIN}` },
    signal: AbortSignal.timeout(30_000),
  });
  if (!res.ok) throw new Error(`${p}: ${res.status}`);
  return (await res.json()) as T;
}

/** `reaped`: with the CPU of its children that have exited (a PostgreSQL backend that came and went). */
function procStats(pid: number, reaped = false): { cpuSec: number; rssMiB: number } {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]) + (reaped ? Number(fields[13]) + Number(fields[14]) : 0);
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  return { cpuSec: ticks / 100, rssMiB: rssKb / 1024 };
}

const PG_BIN = '/usr/lib/postgresql/15/bin';
const asPostgres = (bin: string, args: string[]): void =>
  void execFileSync('runuser', ['-u', 'postgres', '--', path.join(PG_BIN, bin), ...args], { stdio: 'ignore' });

/** A fresh PostgreSQL cluster in `dir` on a free port (loopback only); returns its URL, its postmaster and a stop. */
async function startPostgres(dir: string): Promise<{ url: string; pid: number; stop: () => void }> {
  execFileSync('chown', ['postgres:postgres', dir]);
  const data = path.join(dir, 'data');
  asPostgres('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C']);
  const port = await freePort();
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=200`;
  asPostgres('pg_ctl', ['-D', data, '-o', opts, '-l', path.join(dir, 'log'), '-w', '-t', '60', 'start']);
  const pid = Number(fs.readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const stop = (): void => {
    try {
      asPostgres('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
    } catch {
      // already stopped
    }
  };
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, pid, stop };
}

/** CPU seconds and RSS of a process and all its children (PostgreSQL: the postmaster and its backends). */
function groupStats(pid: number): { cpuSec: number; rssMiB: number } {
  // The pool closes idle connections: a backend alive at the first reading may be gone at the
  // second, its CPU then counted in the postmaster's reaped children (it read -199 % without).
  const total = { ...procStats(pid, true) };
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== pid) continue;
      const s = procStats(Number(entry));
      total.cpuSec += s.cpuSec;
      total.rssMiB += s.rssMiB;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

interface Health {
  devicesOnline: number;
  mqttClients: number;
  leader: boolean;
}
const health = (base: string): Promise<Health | undefined> => api<Health>(base, '/healthz').catch(() => undefined);

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  while (!(await check())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out: ${what}`);
    await sleep(200);
  }
  return (Date.now() - t0) / 1000;
}

async function main(): Promise<void> {
  if (values.compiled)
    execFileSync(process.execPath, [path.join(root, 'scripts/build.mjs')], { cwd: root, stdio: 'inherit' });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-bench-cluster-'));
  const log = (name: string): string => path.join(tmp, `${name}.log`);
  // The simulated boxes' state (identities, telemetry queues) in memory where there is /dev/shm, as
  // bench:fleet does: on disk, 10,000 queues' writes cost the simulators more system time than their
  // own work, and a box's disk is not what this bench measures.
  const simRoot = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : tmp, 'diemcau-bench-sim-'));
  if (!values['keep-data']) scratch.push(simRoot);
  say(
    `${N} boxes over 2 nodes (${values.compiled ? 'built: fleet/dist/main.mjs, plain node' : 'from their sources through tsx'}); host ${os.cpus().length} cores, load ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}; logs in ${tmp}`,
  );
  const redisPort = await freePort();
  const redis = start(
    'redis-server',
    ['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', tmp, '--save', '', '--appendonly', 'no'],
    {},
    log('redis'),
  );
  await sleep(300);
  // Its own folder, beside ours (ours is private to root; the server runs as `postgres`).
  const pgDir = values.store === 'postgres' ? fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-bench-pg-')) : undefined;
  const pg = pgDir ? await startPostgres(pgDir) : undefined;
  if (pg) stopPostgres = pg.stop;
  say(`store: ${pg ? `PostgreSQL 15 (pid ${pg.pid}, default durability)` : 'one SQLite file shared by both nodes'}`);
  const ports = { a: [await freePort(), await freePort()] as const, b: [await freePort(), await freePort()] as const };
  const urls = `mqtt://127.0.0.1:${ports.a[1]},mqtt://127.0.0.1:${ports.b[1]}`;
  const limits = {
    DIEMCAU_MQTT_MAX_LOGINS_PER_DEVICE_PER_MIN: '0',
    DIEMCAU_MQTT_SLOW_AFTER_REFUSALS_PER_SEC: '0',
    DIEMCAU_MQTT_MAX_CONNECTIONS_PER_ADDRESS: '0',
    DIEMCAU_ENROLL_MAX_FAILURES_PER_MIN: '0',
  };
  say(`limits set for boxes that all come from 127.0.0.1: ${JSON.stringify(limits)}`);
  const node = async (name: 'a' | 'b') => {
    const [http, mqtt] = ports[name];
    const child = start(
      process.execPath,
      [
        ...(values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(values['cpu-prof'])}`] : []),
        ...NODE_ENTRY,
      ],
      {
        DIEMCAU_HTTP_PORT: String(http),
        DIEMCAU_MQTT_PORT: String(mqtt),
        DIEMCAU_HOST: '127.0.0.1',
        DIEMCAU_DATA_DIR: path.join(tmp, 'fleet'),
        DIEMCAU_ADMIN_TOKEN: ADMIN,
        DIEMCAU_LOG_LEVEL: 'warn',
        DIEMCAU_REDIS_URL: `redis://127.0.0.1:${redisPort}`,
        ...(pg ? { DIEMCAU_DATABASE_URL: pg.url } : {}),
        DIEMCAU_NODE_ID: `node-${name}`,
        DIEMCAU_PUBLIC_MQTT_URL: `mqtt://127.0.0.1:${mqtt}`,
        DIEMCAU_PUBLIC_MQTT_URLS: urls,
        ...limits,
      },
      log(`node-${name}`),
    );
    const base = `http://127.0.0.1:${http}`;
    await until(`node ${name} up`, async () => (await health(base)) !== undefined, 120_000);
    return { name, base, child };
  };
  const a = await node('a');
  const b = await node('b');
  const t0 = Date.now();
  // Process i runs slice i/2 of its node's N/2 boxes (every box enrols through its own node).
  const perNode = simProcs / 2;
  const sims = Array.from({ length: simProcs }, (_, i) => {
    const n = i % 2 === 0 ? a : b;
    return start(
      process.execPath,
      [
        '--import',
        'tsx',
        'appliance/src/sim.ts',
        '--fleet-url',
        n.base,
        '--admin-token',
        ADMIN,
        '--devices',
        String(N / 2),
        '--slice',
        `${Math.floor(i / 2)}/${perNode}`,
        '--data-dir',
        path.join(simRoot, `sim-${n.name}`),
        '--telemetry-interval',
        values['telemetry-interval']!,
        '--keepalive',
        values.keepalive!,
        '--concurrency',
        String(Math.max(1, Math.ceil(25 / perNode))),
        '--log-level',
        'warn',
      ],
      {},
      log(`sim-${n.name}-${Math.floor(i / 2)}`),
    );
  });
  // Progress while ramping: a box is enrolled once its simulator stored its identity.
  const enrolled = (): number =>
    ['a', 'b'].reduce((sum, n) => {
      const dir = path.join(simRoot, `sim-${n}`);
      if (!fs.existsSync(dir)) return sum;
      return sum + fs.readdirSync(dir).filter((d) => fs.existsSync(path.join(dir, d, 'identity.json'))).length;
    }, 0);
  let last = { at: t0, enrolled: 0, online: 0 };
  let allEnrolledAt: number | undefined;
  const ramp = setInterval(() => {
    void (async () => {
      const [ha, hb] = [await health(a.base), await health(b.base)];
      const now = Date.now();
      const e = enrolled();
      const online = ha?.devicesOnline ?? last.online;
      const dt = (now - last.at) / 1000;
      if (e === N) allEnrolledAt ??= now;
      say(
        `  ${((now - t0) / 1000).toFixed(0)} s: ${e} enrolled (${((e - last.enrolled) / dt).toFixed(1)}/s), ${online} online (${((online - last.online) / dt).toFixed(1)}/s), sessions a ${ha?.mqttClients ?? '-'} b ${hb?.mqttClients ?? '-'}; load ${load1()}`,
      );
      last = { at: now, enrolled: e, online };
    })();
  }, 15_000);
  try {
    await until('all online', async () => (await health(a.base))?.devicesOnline === N, 1_800_000);
  } finally {
    clearInterval(ramp);
  }
  const rampSec = (Date.now() - t0) / 1000;
  const enrolSec = ((allEnrolledAt ?? Date.now()) - t0) / 1000;
  say(
    `all ${N} online ${rampSec.toFixed(1)} s after the simulators started (enrolment included): ${(N / rampSec).toFixed(1)} boxes/s on average; all enrolled by ${enrolSec.toFixed(0)} s (${(N / enrolSec).toFixed(1)}/s, to the 15 s line); load ${load1()}`,
  );

  const procs: Array<[string, ChildProcess]> = [
    ['node-a', a.child],
    ['node-b', b.child],
    ['redis', redis],
    ...sims.map((c, i): [string, ChildProcess] => [`sim-${i % 2 === 0 ? 'a' : 'b'}${Math.floor(i / 2)}`, c]),
  ];
  const s0 = procs.map(([, c]) => procStats(c.pid!));
  const pg0 = pg ? groupStats(pg.pid) : undefined;
  await sleep(steadySec * 1000);
  const s1 = procs.map(([, c]) => procStats(c.pid!));
  const pg1 = pg ? groupStats(pg.pid) : undefined;
  say(`steady state over ${steadySec} s (load ${load1()}):`);
  procs.forEach(([name], i) =>
    say(
      `  ${name.padEnd(7)} CPU ${(((s1[i]!.cpuSec - s0[i]!.cpuSec) / steadySec) * 100).toFixed(1)}% of a core, RSS ${s1[i]!.rssMiB.toFixed(0)} MiB`,
    ),
  );
  if (pg0 && pg1)
    say(
      `  postgres CPU ${(((pg1.cpuSec - pg0.cpuSec) / steadySec) * 100).toFixed(1)}% of a core (postmaster and backends), RSS ${pg1.rssMiB.toFixed(0)} MiB (shared memory counted per process)`,
    );

  const [ha, hb] = [await health(a.base), await health(b.base)];
  const leaderNode = ha?.leader ? a : b;
  const busiest = (ha?.mqttClients ?? 0) >= (hb?.mqttClients ?? 0) ? a : b;
  const victim = values.kill === 'busiest' ? busiest : leaderNode;
  const survivor = victim === a ? b : a;
  say(
    `boxes per node: a ${ha?.mqttClients}, b ${hb?.mqttClients}; leader node-${leaderNode.name}, killing node-${victim.name} (${values.kill})`,
  );
  const alertsBefore = (await api<{ items: Array<{ id: number }> }>(survivor.base, '/api/v1/alerts?limit=5000')).items
    .length;
  victim.child.kill('SIGKILL');
  const killedAt = Date.now();
  // Every 5 s until all are back: the survivor's sessions and online count, and whether it leads yet.
  const takeover = setInterval(() => {
    void health(survivor.base).then((h) =>
      say(
        `  ${((Date.now() - killedAt) / 1000).toFixed(0)} s after the kill: node-${survivor.name} ${h?.mqttClients ?? '-'} sessions, ${h?.devicesOnline ?? '-'} online${h?.leader ? ', leads' : ''}; load ${load1()}`,
      ),
    );
  }, 5000);
  const back = await until(
    'every box on the survivor',
    async () => {
      const h = await health(survivor.base);
      return h?.mqttClients === N && h.devicesOnline === N;
    },
    600_000,
  ).finally(() => clearInterval(takeover));
  say(
    `killed node-${victim.name} (${victim === leaderNode ? 'the leader' : 'not leading'}, ${victim === a ? ha?.mqttClients : hb?.mqttClients} boxes): all ${N} connected to node-${survivor.name} and online ${back.toFixed(1)} s later; load ${load1()}`,
  );
  const led = await until('the survivor leads', async () => (await health(survivor.base))?.leader === true, 60_000);
  say(
    `the survivor leads ${((Date.now() - killedAt) / 1000 - led).toFixed(1)}–${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill`,
  );
  await sleep(10_000); // past the node timeout: the dead node's sessions end, its alert opens
  const alerts = (await api<{ items: Array<{ type: string }> }>(survivor.base, '/api/v1/alerts?limit=5000')).items;
  const byType = new Map<string, number>();
  for (const x of alerts.slice(0, alerts.length - alertsBefore)) byType.set(x.type, (byType.get(x.type) ?? 0) + 1);
  say(`alerts opened since the kill: ${JSON.stringify(Object.fromEntries(byType))}`);
  const devices = (await api<{ items: Array<{ id: string }> }>(survivor.base, '/api/v1/devices')).items;
  let gaps = 0;
  let samples = 0;
  const where: string[] = [];
  for (const d of devices) {
    const items = (
      await api<{ items: Array<{ seq: number; receivedAt: string }> }>(
        survivor.base,
        `/api/v1/devices/${d.id}/telemetry?limit=10000`,
      )
    ).items.sort((x, y) => x.seq - y.seq);
    samples += items.length;
    for (let i = 1; i < items.length; i++) {
      const missing = items[i]!.seq - items[i - 1]!.seq - 1;
      if (missing <= 0) continue;
      gaps += missing;
      // Relative to the kill: a gap far from it is not the failover's.
      if (where.length < 5)
        where.push(
          `${missing} after seq ${items[i - 1]!.seq} (received ${((Date.parse(items[i - 1]!.receivedAt) - killedAt) / 1000).toFixed(1)} s from the kill)`,
        );
    }
  }
  say(
    `telemetry: ${samples} samples stored for ${devices.length} boxes, ${gaps} missing from their sequences${where.length ? `: ${where.join('; ')}` : ''}`,
  );

  // A rolling restart, as an upgrade does it: the dead node comes back, then
  // each node in turn is stopped (SIGTERM), its boxes move to the other one,
  // and it starts again. Every box only moves: no alert may open.
  if (!values['no-rolling']) {
    const nodes = { [victim.name]: await node(victim.name as 'a' | 'b'), [survivor.name]: survivor };
    const alertIds = async (): Promise<Set<number>> =>
      new Set(
        (await api<{ items: Array<{ id: number }> }>(survivor.base, '/api/v1/alerts?limit=5000')).items.map(
          (x) => x.id,
        ),
      );
    await sleep(15_000); // the dead node's own alert resolves once it is back
    const before = await alertIds();
    for (const name of [survivor.name, victim.name]) {
      const stopping = nodes[name]!;
      const other = nodes[name === 'a' ? 'b' : 'a']!;
      const t1 = Date.now();
      stopping.child.kill('SIGTERM');
      await new Promise((r) => (stopping.child.exitCode !== null ? r(null) : stopping.child.once('exit', r)));
      const stopped = (Date.now() - t1) / 1000;
      const moved = await until(
        `every box on node-${other.name}`,
        async () => {
          const h = await health(other.base);
          return h?.mqttClients === N && h.devicesOnline === N;
        },
        600_000,
      );
      nodes[name] = await node(name as 'a' | 'b');
      say(
        `rolling restart: node-${name} stopped in ${stopped.toFixed(1)} s, all ${N} on node-${other.name} and online ${moved.toFixed(1)} s after it exited, node-${name} back ${((Date.now() - t1) / 1000).toFixed(1)} s after the stop began; load ${load1()}`,
      );
    }
    await sleep(15_000); // past the offline debounce: a box wrongly counted offline would have its alert by now
    const opened = (
      await api<{ items: Array<{ id: number; type: string; deviceId: string | null }> }>(
        survivor.base,
        '/api/v1/alerts?limit=5000',
      )
    ).items.filter((x) => !before.has(x.id));
    const types = new Map<string, number>();
    for (const x of opened) types.set(x.type, (types.get(x.type) ?? 0) + 1);
    say(`alerts opened during the rolling restart: ${opened.length} ${JSON.stringify(Object.fromEntries(types))}`);

    // The reconnect storm: both nodes killed at once and started again; every box comes back by itself.
    const stormBefore = await alertIds();
    const killed = Date.now();
    for (const n of Object.values(nodes)) n.child.kill('SIGKILL');
    await sleep(1000);
    const [na, nb] = [await node('a'), await node('b')];
    const up = (Date.now() - killed) / 1000;
    const back = await until(
      'every box back after the storm',
      async () => {
        const [x, y] = [await health(na.base), await health(nb.base)];
        return (x?.mqttClients ?? 0) + (y?.mqttClients ?? 0) === N && x?.devicesOnline === N;
      },
      600_000,
    );
    await sleep(15_000);
    const stormAlerts = (
      await api<{ items: Array<{ id: number; type: string }> }>(na.base, '/api/v1/alerts?limit=5000')
    ).items.filter((x) => !stormBefore.has(x.id));
    const st = new Map<string, number>();
    for (const x of stormAlerts) st.set(x.type, (st.get(x.type) ?? 0) + 1);
    say(
      `reconnect storm: both nodes killed, up again ${up.toFixed(1)} s later; all ${N} connected and online ${back.toFixed(1)} s after that (${(up + back).toFixed(1)} s from the kill); alerts opened: ${stormAlerts.length} ${JSON.stringify(Object.fromEntries(st))}; load ${load1()}`,
    );
  }
  if (values['cpu-prof']) {
    // A profile is written on a clean exit only.
    const running = children.filter((c) => c.exitCode === null && c.signalCode === null);
    await Promise.all(
      running
        .filter((c) => c.spawnargs.includes(NODE_ENTRY.at(-1)!))
        .map((c) => new Promise((r) => (c.once('exit', r), c.kill('SIGTERM')))),
    );
    say(`CPU profiles in ${path.resolve(values['cpu-prof'])}`);
  }
  // The simulators write their queues until they exit: every child is gone before its data is.
  await Promise.all(
    children
      .filter((c) => c.exitCode === null && c.signalCode === null)
      .map((c) => new Promise((r) => (c.once('exit', r), c.kill('SIGKILL')))),
  );
  stopPostgres?.();
  if (values['keep-data']) say(`data and logs kept in ${tmp}, ${simRoot}${pgDir ? ` and ${pgDir}` : ''}`);
  else for (const d of [tmp, simRoot, pgDir]) if (d) fs.rmSync(d, { recursive: true, force: true });
}

// Ctrl-C or a kill of the bench takes its nodes, simulators, Redis and PostgreSQL with it.
// The signal can come twice (a wrapper relays the one it got too): the second must not cut the first short.
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    stopPostgres?.();
    for (const d of scratch) fs.rmSync(d, { recursive: true, force: true });
    process.exit(130);
  });
}

main()
  .catch((err: unknown) => {
    say(`failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  })
  .finally(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    stopPostgres?.();
  });

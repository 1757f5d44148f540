// `npm run bench:abuse [-- --phase-sec S --phases a,b --no-edge]`: an
// abusive box, with its own valid credentials (a fresh one per phase, so one
// phase's login-rate refusals do not hide the next), tries to exhaust the
// fleet while a good box keeps working from the same address (127.0.0.1, as
// behind a commune's NAT). The fleet runs as
// its own process, so its RSS and CPU are what is measured; every limit it
// runs with is set here and printed. Phases, in order:
//   qos2       QoS 2 publishes of ~250 KiB, never a PUBREL, over "persistent"
//              sessions, reconnecting at once whenever cut (the hoarding that
//              grew the fleet by hundreds of MiB)
//   retained   retained messages: on its presence (allowed, replaces), on
//              other channels, oversized, on another box's topic
//   idle       sockets that never send CONNECT, twice the per-address cap
//   connect    connect/CONNECT/close as fast as it can (valid credentials)
//   login      wrong passwords (new ones, a repeated one) for the good box's id
//              and for made-up ids, 32 at a time; a second good box logs in
//              for the first time in the middle of it
//   edge       bench/abuse-edge.ts, the media edge's own abuse, when present
//              (see EDGE PHASES below; --no-edge skips it)
// Prints, per phase: fleet RSS (peak), CPU (% of one core), /healthz answers
// and their slowest time, and the good box's state; at the end RSS before,
// peak and after, and whether the goal held (≤ 64 MiB growth, good box never
// cut). Runs on 127.0.0.1, ephemeral ports, a temp dir removed at the end;
// about 80 s for the fleet, then the edge's own bench (about 90 s) if present.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import { deviceTopic, type EnrolResponse } from '@diemcau/shared';
import { RawClient } from '../fleet/test/broker/raw-client.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ADMIN = 'bench-admin-token-0123456789abcdef';
const { values } = parseArgs({
  options: {
    'phase-sec': { type: 'string', default: '12' },
    // A comma-separated subset of the phases, in their order (default: all).
    phases: { type: 'string' },
    'keep-data': { type: 'boolean', default: false },
    'no-edge': { type: 'boolean', default: false },
    // V8 flags for the fleet process, e.g. "--max-semi-space-size=4" (default: none, as shipped).
    'fleet-node-options': { type: 'string', default: '' },
    'edge-sec': { type: 'string', default: '180' },
  },
});
const phaseSec = Number(values['phase-sec']);

/** The fleet's limits for this run, set explicitly (see fleet/src/config.ts for what each does). */
const LIMITS = {
  DIEMCAU_MQTT_MAX_CONNECTIONS_PER_ADDRESS: '256',
  DIEMCAU_MQTT_CONNECT_TIMEOUT_MS: '2000',
  DIEMCAU_MQTT_MAX_FAILURES_PER_MIN: '30',
  DIEMCAU_MQTT_MAX_FAILED_IDS_PER_ADDRESS: '100',
  DIEMCAU_MQTT_MAX_RETAINED_BYTES: '8192',
  DIEMCAU_MQTT_MAX_LOGINS_PER_DEVICE_PER_MIN: '60',
  DIEMCAU_MQTT_SLOW_AFTER_REFUSALS_PER_SEC: '20',
  DIEMCAU_MAX_PACKET_BYTES: '263168',
};
const GOAL_MIB = 64;

const say = (msg: string): void => void process.stdout.write(`[abuse] ${msg}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What a phase gets to work with. The edge's phases get the same. */
export interface AbuseContext {
  base: string;
  mqttPort: number;
  adminToken: string;
  /** How long each phase runs. */
  phaseMs: number;
  /**
   * The abusive box of this phase: enrolled, its own credentials. Each phase
   * has its own, so that the login-rate refusals one phase earns do not
   * hide what the next one tries.
   */
  abuser: EnrolResponse;
  /** The second good box, which logs in for the first time during the login flood. */
  late: EnrolResponse;
  good: GoodBox;
  enrol(siteId: string): Promise<EnrolResponse>;
  say(msg: string): void;
}

export interface AbusePhase {
  name: string;
  /** Runs for about ctx.phaseMs; returns one line saying what it did and what the fleet answered. */
  run(ctx: AbuseContext): Promise<string>;
}

// ---------------------------------------------------------------- measuring

/** utime+stime in seconds and RSS in MiB of a process, from /proc. */
function procStats(pid: number): { cpuSec: number; rssMiB: number } {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  return { cpuSec: ticks / 100, rssMiB: rssKb / 1024 };
}

interface Window {
  rssPeak: number;
  cpuStart: number;
  /** This process's own CPU and event-loop delay: a starved bench would blame the fleet for its own slowness. */
  selfCpuStart: NodeJS.CpuUsage;
  lag: ReturnType<typeof monitorEventLoopDelay>;
  startedAt: number;
  healthOk: number;
  healthBad: number;
  healthMaxMs: number;
}

/** Samples the fleet's RSS and /healthz every 250 ms; windows collect per phase. */
class Monitor {
  private timer: NodeJS.Timeout | undefined;
  private readonly windows = new Set<Window>();
  private probing = false;

  constructor(
    private readonly pid: number,
    private readonly base: string,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.tick(), 250);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  open(): Window {
    const s = procStats(this.pid);
    const lag = monitorEventLoopDelay({ resolution: 20 });
    lag.enable();
    const w: Window = {
      rssPeak: s.rssMiB,
      cpuStart: s.cpuSec,
      selfCpuStart: process.cpuUsage(),
      lag,
      startedAt: Date.now(),
      healthOk: 0,
      healthBad: 0,
      healthMaxMs: 0,
    };
    this.windows.add(w);
    return w;
  }

  close(w: Window): { rssPeak: number; rssNow: number; cpuPct: number; health: string; bench: string } {
    this.windows.delete(w);
    w.lag.disable();
    const s = procStats(this.pid);
    const secs = (Date.now() - w.startedAt) / 1000;
    const cpuPct = ((s.cpuSec - w.cpuStart) / secs) * 100;
    const self = process.cpuUsage(w.selfCpuStart);
    return {
      rssPeak: Math.max(w.rssPeak, s.rssMiB),
      rssNow: s.rssMiB,
      cpuPct,
      health: `${w.healthOk} ok, ${w.healthBad} failed, slowest ${w.healthMaxMs} ms`,
      bench: `bench CPU ${(((self.user + self.system) / 1e6 / secs) * 100).toFixed(0)}%, its loop lag max ${(w.lag.max / 1e6).toFixed(0)} ms`,
    };
  }

  private tick(): void {
    let rss = 0;
    try {
      rss = procStats(this.pid).rssMiB;
    } catch {
      return;
    }
    for (const w of this.windows) w.rssPeak = Math.max(w.rssPeak, rss);
    if (this.probing) return; // one probe at a time; a slow answer is recorded by its length
    this.probing = true;
    const t0 = Date.now();
    void fetch(`${this.base}/healthz`, { signal: AbortSignal.timeout(5000) })
      .then((r) => r.ok)
      .catch(() => false)
      .then((ok) => {
        const ms = Date.now() - t0;
        for (const w of this.windows) {
          if (ok) w.healthOk++;
          else w.healthBad++;
          w.healthMaxMs = Math.max(w.healthMaxMs, ms);
        }
        this.probing = false;
      });
  }
}

// ---------------------------------------------------------------- the good box

/** A box like the agent: clean session, will, birth, telemetry every second; counts every cut. */
export class GoodBox {
  cuts = 0;
  sent = 0;
  failed = 0;
  private timer: NodeJS.Timeout | undefined;
  private constructor(
    readonly client: MqttClient,
    readonly creds: EnrolResponse,
  ) {}

  static async connect(creds: EnrolResponse, port: number): Promise<GoodBox> {
    const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
      clientId: creds.deviceId,
      username: creds.mqtt.username,
      password: creds.mqtt.password,
      keepalive: 10,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      will: {
        topic: deviceTopic(creds.deviceId, 'presence'),
        payload: Buffer.from(presence('offline')),
        qos: 1,
        retain: true,
      },
    });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    await client.publishAsync(deviceTopic(creds.deviceId, 'presence'), presence('online'), { qos: 1, retain: true });
    const box = new GoodBox(client, creds);
    client.on('close', () => box.cuts++);
    let seq = 0;
    box.timer = setInterval(() => {
      box.sent++;
      client
        .publishAsync(deviceTopic(creds.deviceId, 'telemetry'), telemetry(++seq), { qos: 1 })
        .catch(() => box.failed++);
    }, 1000);
    return box;
  }

  get state(): string {
    return `${this.client.connected ? 'connected' : 'DISCONNECTED'}, cut ${this.cuts}×, telemetry ${this.sent - this.failed}/${this.sent} acked`;
  }

  close(): void {
    clearInterval(this.timer);
    this.client.end(true);
  }
}

const presence = (state: 'online' | 'offline', pad = 0): string =>
  JSON.stringify({ v: 1, state, at: new Date().toISOString(), agentVersion: '0.1.0' }).padEnd(pad, ' ');
const telemetry = (seq: number): string =>
  JSON.stringify({
    v: 1,
    seq,
    at: new Date().toISOString(),
    cpu: { loadPercent: 10 },
    memory: { usedBytes: 1e9, totalBytes: 8e9 },
    disk: { usedBytes: 1e10, totalBytes: 1e11 },
    network: { rxBytesPerSec: 1000, txBytesPerSec: 2000 },
    uptimeSec: seq,
  });

// ---------------------------------------------------------------- the abuser's phases

const login = (c: EnrolResponse, extra: { clean?: boolean } = {}) => ({
  clientId: c.deviceId,
  username: c.deviceId,
  password: Buffer.from(c.mqtt.password),
  ...extra,
});

/** Runs `lanes` loops of `step` until the deadline; each step is one attempt. */
async function lanes(n: number, deadline: number, step: (lane: number) => Promise<void>): Promise<void> {
  await Promise.all(
    Array.from({ length: n }, async (_, lane) => {
      while (Date.now() < deadline) await step(lane).catch(() => undefined);
    }),
  );
}

const qos2: AbusePhase = {
  name: 'qos2',
  async run(ctx) {
    const deadline = Date.now() + ctx.phaseMs;
    const payload = randomBytes(250 * 1024);
    const topic = deviceTopic(ctx.abuser.deviceId, 'telemetry');
    let persistentRefused = 0;
    let sessions = 0;
    let written = 0;
    let pubrecs = 0;
    let messageId = 0;
    while (Date.now() < deadline) {
      const p = await RawClient.open(ctx.mqttPort);
      if ((await p.login(login(ctx.abuser, { clean: false }))) !== 0) persistentRefused++;
      p.close();
      const c = await RawClient.open(ctx.mqttPort);
      if ((await c.login(login(ctx.abuser))) !== 0) {
        c.close();
        continue;
      }
      sessions++;
      // A window of QoS 2 messages, never released; then wait for what the broker does.
      for (let i = 0; i < 64 && !c.isClosed; i++) {
        messageId = (messageId % 65535) + 1;
        c.send({ cmd: 'publish', topic, payload, qos: 2, messageId, retain: false, dup: false });
        written++;
      }
      await Promise.race([c.closed, sleep(1000)]);
      pubrecs += c.received.filter((x) => x.cmd === 'pubrec').length;
      c.close();
    }
    return `${persistentRefused} persistent sessions refused; ${sessions} clean sessions, ${written} QoS 2 publishes of 250 KiB written, ${pubrecs} PUBREC (messages the fleet took in)`;
  },
};

const retained: AbusePhase = {
  name: 'retained',
  async run(ctx) {
    const deadline = Date.now() + ctx.phaseMs;
    const own = deviceTopic(ctx.abuser.deviceId, 'presence');
    const tries = [
      { what: 'presence 8 KiB', topic: own, payload: presence('online', 8000) },
      { what: 'presence 64 KiB', topic: own, payload: presence('online', 64 * 1024) },
      { what: 'telemetry', topic: deviceTopic(ctx.abuser.deviceId, 'telemetry'), payload: telemetry(1) },
      { what: 'events', topic: deviceTopic(ctx.abuser.deviceId, 'events'), payload: '{"v":1}'.padEnd(200_000, ' ') },
      {
        what: "good box's presence",
        topic: deviceTopic(ctx.good.creds.deviceId, 'presence'),
        payload: presence('offline'),
      },
    ];
    const kept = new Map<string, number>();
    const cut = new Map<string, number>();
    let round = 0;
    while (Date.now() < deadline) {
      const t = tries[round++ % tries.length]!;
      const c = await RawClient.open(ctx.mqttPort);
      if ((await c.login(login(ctx.abuser))) !== 0) {
        c.close();
        continue;
      }
      for (let i = 0; i < 20 && !c.isClosed; i++) {
        c.send({
          cmd: 'publish',
          topic: t.topic,
          payload: Buffer.from(t.payload),
          qos: 1,
          messageId: i + 1,
          retain: true,
          dup: false,
        });
      }
      const gone = await Promise.race([c.closed.then(() => true), sleep(300).then(() => false)]);
      const map = gone ? cut : kept;
      map.set(t.what, (map.get(t.what) ?? 0) + 1);
      c.close();
    }
    const fmt = (m: Map<string, number>) => [...m].map(([k, v]) => `${k} ×${v}`).join(', ') || 'none';
    return `sessions kept: ${fmt(kept)}; sessions cut: ${fmt(cut)}`;
  },
};

const idle: AbusePhase = {
  name: 'idle',
  async run(ctx) {
    const deadline = Date.now() + ctx.phaseMs;
    const cap = Number(LIMITS.DIEMCAU_MQTT_MAX_CONNECTIONS_PER_ADDRESS);
    let opened = 0;
    let refusedAtOnce = 0;
    let peakHeld = 0;
    const held = new Set<RawClient>();
    while (Date.now() < deadline) {
      // Top up to twice the cap, then see how many the fleet kept.
      const batch = await Promise.all(
        Array.from({ length: Math.max(0, cap * 2 - held.size) }, () =>
          RawClient.open(ctx.mqttPort).catch(() => undefined),
        ),
      );
      for (const c of batch) {
        if (!c) continue;
        opened++;
        held.add(c);
        void c.closed.then(() => held.delete(c));
      }
      await sleep(200);
      for (const c of batch) if (c?.isClosed) refusedAtOnce++;
      peakHeld = Math.max(peakHeld, held.size);
      await sleep(300);
    }
    const before = held.size;
    await sleep(Number(LIMITS.DIEMCAU_MQTT_CONNECT_TIMEOUT_MS) + 1000);
    const after = held.size;
    for (const c of held) c.close();
    return `${opened} sockets opened without CONNECT, ${refusedAtOnce} closed at once (cap ${cap} per address, the good box holds one), at most ${peakHeld} seen open by the bench at a look; ${before} open at the end, ${after} still open one connect timeout later`;
  },
};

const connectFlood: AbusePhase = {
  name: 'connect',
  async run(ctx) {
    let ok = 0;
    let other = 0;
    await lanes(16, Date.now() + ctx.phaseMs, async () => {
      const c = await RawClient.open(ctx.mqttPort);
      const rc = await c.login(login(ctx.abuser));
      if (rc === 0) ok++;
      else other++;
      c.close();
    });
    return `${ok} logins with the abuser's credentials (${Math.round(ok / (ctx.phaseMs / 1000))}/s, each taking over the last), ${other} refused or cut`;
  },
};

const loginFlood: AbusePhase = {
  name: 'login',
  async run(ctx) {
    const outcomes = new Map<string, number>();
    let late = 'not tried';
    const deadline = Date.now() + ctx.phaseMs;
    const lateTry = (async () => {
      await sleep(ctx.phaseMs / 2);
      const t0 = Date.now();
      try {
        const box = await GoodBox.connect(ctx.late, ctx.mqttPort);
        late = `logged in after ${Date.now() - t0} ms`;
        box.close();
      } catch (err) {
        late = `REFUSED (${(err as Error).message})`;
      }
    })();
    const good = ctx.good.creds.deviceId;
    await lanes(32, deadline, async (lane) => {
      const kind = lane % 4;
      const o =
        kind === 0
          ? { clientId: good, username: good, password: randomBytes(18) } // a new guess: costs a scrypt
          : kind === 1
            ? { clientId: good, username: good, password: Buffer.from('the-old-password') } // a stale box
            : kind === 2
              ? { clientId: 'dev-revoked', username: 'dev-revoked', password: Buffer.from('x') } // a revoked box
              : { clientId: `dev-made-up-${lane}`, username: `dev-made-up-${lane}`, password: randomBytes(8) };
      const c = await RawClient.open(ctx.mqttPort);
      const rc = await c.login(o);
      const key = rc === 'closed' ? 'cut before CONNACK' : `CONNACK ${rc}`;
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      c.close();
    });
    await lateTry;
    const total = [...outcomes.values()].reduce((a, b) => a + b, 0);
    return `${total} bad logins (${Math.round(total / (ctx.phaseMs / 1000))}/s): ${[...outcomes].map(([k, v]) => `${k} ×${v}`).join(', ')}; a second good box at the same address ${late}`;
  },
};

// ---------------------------------------------------------------- EDGE PHASES
// The media edge's abuse is its own program, bench/abuse-edge.ts (`npm run
// bench:abuse-edge`, owned with the edge): it starts an edge and measures it
// the same way. When it is there, it runs here after the fleet's phases, as a
// child process with its output relayed (`--no-edge` skips it, `--edge-sec`
// bounds it). A phase that needs the fleet running (an edge enrolled as a box,
// say) can instead be added to the list in main() as an AbusePhase.
async function runEdgeBench(timeoutMs: number): Promise<string> {
  const file = path.join(root, 'bench', 'abuse-edge.ts');
  if (!fs.existsSync(file)) return 'not run (bench/abuse-edge.ts is not there)';
  say('edge: bench/abuse-edge.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  const relay = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n'))
      if (line.trim()) process.stdout.write(`[abuse:edge] ${line}\n`);
  };
  child.stdout.on('data', relay);
  child.stderr.on('data', relay);
  const timer = setTimeout(() => child.kill('SIGINT'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  return code === 0 ? 'ran (figures above, [abuse:edge])' : `FAILED (exit ${code}; output above)`;
}

// ---------------------------------------------------------------- main

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

async function api<T>(base: string, p: string, body?: unknown, token: string | null = ADMIN): Promise<T> {
  const res = await fetch(`${base}${p}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  if (!res.ok) throw new Error(`${p}: ${res.status} ${await res.text()}`);
  const ct = res.headers.get('content-type') ?? '';
  return (ct.includes('json') ? await res.json() : await res.text()) as T;
}

/** The fleet's V8 heap in use and its memory outside the heap (buffers), in MiB, from its /metrics. */
async function heap(base: string): Promise<string> {
  const text = await api<string>(base, '/metrics').catch(() => '');
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN) / 2 ** 20;
  return `heap used ${value('diemcau_fleet_nodejs_heap_size_used_bytes').toFixed(1)} MiB, external ${value('diemcau_fleet_nodejs_external_memory_bytes').toFixed(1)} MiB`;
}

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-bench-abuse-'));
  let fleet: ChildProcess | undefined;
  const boxes: GoodBox[] = [];
  let monitor: Monitor | undefined;
  const cleanup = (): void => {
    monitor?.stop();
    for (const b of boxes) b.close();
    fleet?.kill('SIGKILL');
    if (!values['keep-data']) fs.rmSync(tmp, { recursive: true, force: true });
  };
  process.on('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  try {
    const [httpPort, mqttPort] = [await freePort(), await freePort()];
    const base = `http://127.0.0.1:${httpPort}`;
    say(
      `limits: ${Object.entries(LIMITS)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
    );
    say(
      `each phase ${phaseSec} s; fleet node options: ${values['fleet-node-options'] || '(none)'}; host ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(2)}; fleet log in ${tmp}`,
    );
    const logFile = path.join(tmp, 'fleet.log');
    const out = fs.openSync(logFile, 'a');
    fleet = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'fleet/src/main.ts')], {
      cwd: root,
      env: {
        ...process.env,
        DIEMCAU_HOST: '127.0.0.1',
        DIEMCAU_HTTP_PORT: String(httpPort),
        DIEMCAU_MQTT_PORT: String(mqttPort),
        DIEMCAU_DATA_DIR: path.join(tmp, 'fleet'),
        DIEMCAU_ADMIN_TOKEN: ADMIN,
        DIEMCAU_LOG_LEVEL: 'warn',
        ...LIMITS,
        ...(values['fleet-node-options'] ? { NODE_OPTIONS: values['fleet-node-options'] } : {}),
      },
      stdio: ['ignore', out, out],
    });
    fs.closeSync(out);
    for (let i = 0; ; i++) {
      if (fleet.exitCode !== null) throw new Error(`fleet exited: ${fs.readFileSync(logFile, 'utf8').slice(-2000)}`);
      if (
        await fetch(`${base}/healthz`)
          .then((r) => r.ok)
          .catch(() => false)
      )
        break;
      if (i > 300) throw new Error('fleet did not start in 60 s');
      await sleep(200);
    }
    const enrol = async (siteId: string): Promise<EnrolResponse> => {
      const tok = await api<{ token: string }>(base, `/api/v1/sites/${siteId}/enrollment-tokens`, {});
      const res = await api<EnrolResponse>(
        base,
        '/api/v1/enroll',
        { token: tok.token, hardware: { agentVersion: '0.1.0' } },
        null,
      );
      return { ...res, mqtt: { ...res.mqtt, url: `mqtt://127.0.0.1:${mqttPort}` } };
    };
    const sites = (await api<{ items: { id: string }[] }>(base, '/api/v1/sites')).items;
    const [goodCreds, lateCreds] = [await enrol(sites[0]!.id), await enrol(sites[1]!.id)];
    const abuser = await enrol(sites[2]!.id);
    const good = await GoodBox.connect(goodCreds, mqttPort);
    boxes.push(good);
    monitor = new Monitor(fleet.pid!, base);
    monitor.start();
    const ctx: AbuseContext = {
      base,
      mqttPort,
      adminToken: ADMIN,
      phaseMs: phaseSec * 1000,
      abuser,
      late: lateCreds,
      good,
      enrol,
      say,
    };

    await sleep(3000); // settle: the fleet's start-up garbage is collected, the good box is in
    const whole = monitor.open();
    const settled = monitor.open();
    await sleep(2000);
    const before = monitor.close(settled);
    say(
      `before: fleet RSS ${before.rssNow.toFixed(1)} MiB (${await heap(base)}), CPU ${before.cpuPct.toFixed(1)}%; good box ${good.state}`,
    );

    const rows: string[] = [];
    const wanted = values.phases?.split(',');
    const phases = [qos2, retained, idle, connectFlood, loginFlood].filter((p) => !wanted || wanted.includes(p.name));
    for (const phase of phases) {
      say(`phase ${phase.name}: running`);
      ctx.abuser = await enrol(sites[2]!.id);
      const w = monitor.open();
      const what = await phase.run(ctx);
      const m = monitor.close(w);
      say(`phase ${phase.name}: ${what}`);
      const row = `${phase.name.padEnd(9)} RSS peak ${m.rssPeak.toFixed(1).padStart(6)} MiB (+${(m.rssPeak - before.rssNow).toFixed(1)}; at the end ${await heap(base)}), CPU ${m.cpuPct.toFixed(0).padStart(3)}%, /healthz ${m.health}; good box ${good.state}; ${m.bench}`;
      say(row);
      rows.push(row);
    }
    const calm = monitor.open();
    await sleep(10_000);
    const after = monitor.close(calm);
    const all = monitor.close(whole);
    const growth = all.rssPeak - before.rssNow;
    const metrics = await api<string>(base, '/metrics');
    const counters = metrics
      .split('\n')
      .filter((l) => /^diemcau_mqtt_(limits|auth_failures|acl_denied|oversize_packets)_total/.test(l));
    const logBytes = fs.statSync(logFile).size;

    say('---- summary');
    say(
      `limits: ${Object.entries(LIMITS)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
    );
    for (const r of rows) say(r);
    say(
      `fleet RSS: before ${before.rssNow.toFixed(1)} MiB, peak ${all.rssPeak.toFixed(1)} MiB (+${growth.toFixed(1)}), 10 s after ${after.rssNow.toFixed(1)} MiB (+${(after.rssNow - before.rssNow).toFixed(1)}; ${await heap(base)}); CPU after ${after.cpuPct.toFixed(1)}%`,
    );
    say(`/healthz over the whole run: ${all.health}`);
    say(`good box: ${good.state}`);
    say(`fleet counters: ${counters.join('; ')}`);
    say(`fleet log (warn and above): ${(logBytes / 1024).toFixed(0)} KiB`);
    const fine = growth <= GOAL_MIB && good.cuts === 0 && good.client.connected && !all.health.includes(' 0 ok');
    say(`goal (≤ ${GOAL_MIB} MiB growth, good box never cut, /healthz answering): ${fine ? 'met' : 'NOT MET'}`);
  } finally {
    cleanup();
  }
  if (!values['no-edge']) say(`edge: ${await runEdgeBench(Number(values['edge-sec']) * 1000)}`);
}

// Run only as a program: abuse-edge.ts imports this file's types.
if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`bench:abuse failed: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
}

// One simulator process of `npm run bench:fleet`: runs its slice of the
// simulated boxes (startSimulation, the same Agent code as on a box) and talks
// to the bench over the IPC channel of fork(). Started only by fleet-sim-pool.ts;
// its settings come as one JSON argument (WorkerSettings).
//
// Why a process of its own: one process running 10,000 agents used a whole
// core, fell behind on keepalives and made devices flap. Split over several
// processes, each event loop stays short; the bench watches each one's lag.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pino } from 'pino';
import { startSimulation, type SimAgent } from '@diemcau/appliance';
import type { ToWorker, FromWorker, WorkerSettings } from './fleet-sim-pool.js';

const settings = JSON.parse(process.argv[2] ?? '{}') as WorkerSettings;
const send = (m: FromWorker): void => {
  // The bench may be gone (Ctrl-C): nothing to report to then.
  if (process.connected) process.send?.(m);
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// The bench owns this process: when it goes (even by SIGKILL), so do we.
process.on('disconnect', () => process.exit(0));
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));

const byIndex = new Map<number, SimAgent>();
let total = settings.slice.to - settings.slice.from;
let lastStartAt = 0;
const lag = monitorEventLoopDelay({ resolution: 20 });
lag.enable();

/** Started/connected counts, reconnects (flaps) and event-loop lag since the last report. */
function report(): void {
  let connected = 0;
  let reconnects = 0;
  for (const e of byIndex.values()) {
    if (e.agent.connected) connected++;
    reconnects += Math.max(0, e.agent.session.connects - 1);
  }
  send({
    type: 'progress',
    started: byIndex.size,
    total,
    connected,
    reconnects,
    lagP99Ms: Math.round(lag.percentile(99) / 1e6),
    lagMaxMs: Math.round(lag.max / 1e6),
  });
  lag.reset();
}
setInterval(report, 1000);

/** Cuts the sockets of the given devices without DISCONNECT, `gapMs` apart; the time of each cut on this machine's clock. */
async function crash(indexes: number[], gapMs: number): Promise<{ index: number; deviceId: string; at: number }[]> {
  const cuts: { index: number; deviceId: string; at: number }[] = [];
  for (const index of indexes) {
    const e = byIndex.get(index);
    if (!e) continue;
    cuts.push({ index, deviceId: e.agent.identity.deviceId, at: Date.now() });
    // Not graceful: no "offline", no DISCONNECT, and a closed agent does not reconnect.
    void e.agent.close({ graceful: false });
    await sleep(gapMs);
  }
  return cuts;
}

process.on('message', (raw) => {
  const m = raw as ToWorker;
  if (m.type === 'crash') {
    void crash(m.indexes, m.gapMs).then((cuts) => send({ type: 'crashed', id: m.id, cuts }));
  }
});

startSimulation({
  fleetUrl: settings.fleetUrl,
  adminToken: settings.adminToken,
  devices: settings.devices,
  slice: settings.slice,
  dataRoot: settings.dataRoot,
  telemetryIntervalSec: settings.telemetryIntervalSec,
  keepaliveSec: settings.keepaliveSec,
  concurrency: settings.concurrency,
  ...(settings.mqttUrl ? { mqttUrl: settings.mqttUrl } : {}),
  queueMaxRecords: 100,
  // Warnings say why sessions drop (keepalive, connect timeouts); they go to this worker's log file.
  log: pino({ level: 'warn' }),
  onProgress: (_n, t, entry) => {
    total = t;
    lastStartAt = Date.now();
    byIndex.set(entry.plan.index, entry);
  },
}).then(
  () => {
    report();
    // When the last agent was enrolled and started; its session came up later.
    send({ type: 'started', at: lastStartAt });
  },
  (err: unknown) => {
    send({ type: 'failed', message: (err as Error).stack ?? String(err) });
    process.stderr.write(`simulator failed: ${(err as Error).stack ?? String(err)}\n`);
    // Let the message reach the bench before the channel closes.
    setTimeout(() => process.exit(1), 200);
  },
);

// The simulator: `npm run simulate -- --fleet-url URL --admin-token T [--devices N]`.
// Runs many appliance agents (simulated hardware) in one process, each with its
// own data dir under --data-dir. Composition root of its own program.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { Type, type Static } from '@sinclair/typebox';
import { loadSettings, settingsProblems } from '@diemcau/shared';
import { parseTokensFile, sliceBounds } from './sim/planner.js';
import { startSimulation, type Simulation } from './sim/simulation.js';

const USAGE = `usage: npm run simulate -- [options]
  --fleet-url URL          fleet HTTP base (DIEMCAU_FLEET_URL, default http://127.0.0.1:8080)
  --admin-token T          operator token to list sites and mint tokens (DIEMCAU_ADMIN_TOKEN)
  --tokens-file FILE       tokens instead: JSON [{siteId, token}] or lines "siteId token"
  --devices N              simulated boxes, round-robin over the sites (default: one per site)
  --sites N                use the first N sites; N boxes unless --devices (sites reused past the last)
  --slice K/N              run only part K (0-based) of N of those boxes, the rest in other simulators
  --data-dir DIR           one folder per box below it (DIEMCAU_SIM_DATA_DIR, default ./data/sim)
  --telemetry-interval S   seconds between samples (default 10)
  --keepalive S            MQTT keepalive seconds (default 10)
  --mqtt-url URL           override the broker URL the fleet hands out
  --concurrency N          boxes starting at once (default 50)
  --log-level L            pino level (default warn)`;

// The simulator's settings that also come from the environment; the flags
// above win (given as values), and everything is checked together.
const SimSettingsSchema = Type.Object({
  fleetUrl: Type.String({
    pattern: '^https?://',
    default: 'http://127.0.0.1:8080',
    env: 'DIEMCAU_FLEET_URL',
    description: 'fleet HTTP base',
  }),
  adminToken: Type.Optional(
    Type.String({
      minLength: 1,
      env: 'DIEMCAU_ADMIN_TOKEN',
      description: 'operator token to list sites and mint tokens',
    }),
  ),
  dataDir: Type.String({
    minLength: 1,
    default: 'data/sim',
    env: 'DIEMCAU_SIM_DATA_DIR',
    description: 'one folder per box below it',
  }),
});

function intArg(name: string, v: string | undefined, min: number, problems: string[]): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) {
    problems.push(`--${name} must be an integer >= ${min}`);
    return undefined;
  }
  return n;
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        'fleet-url': { type: 'string' },
        'admin-token': { type: 'string' },
        'tokens-file': { type: 'string' },
        devices: { type: 'string' },
        sites: { type: 'string' },
        slice: { type: 'string' },
        'data-dir': { type: 'string' },
        'telemetry-interval': { type: 'string' },
        keepalive: { type: 'string' },
        'mqtt-url': { type: 'string' },
        concurrency: { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean' },
      },
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const problems: string[] = [];
  const devicesArg = intArg('devices', values.devices, 1, problems);
  const sites = intArg('sites', values.sites, 1, problems);
  const telemetryIntervalSec = intArg('telemetry-interval', values['telemetry-interval'], 1, problems) ?? 10;
  const keepaliveSec = intArg('keepalive', values.keepalive, 2, problems) ?? 10;
  const concurrency = intArg('concurrency', values.concurrency, 1, problems) ?? 50;
  const slicePart = values.slice === undefined ? undefined : /^(\d+)\/(\d+)$/.exec(values.slice);
  if (slicePart === null || (slicePart && Number(slicePart[1]) >= Number(slicePart[2])))
    problems.push('--slice must be K/N with 0 <= K < N');
  if (slicePart && devicesArg === undefined && sites === undefined)
    problems.push('--slice needs --devices or --sites (every part must plan the same boxes)');
  let tokens: Map<string, string[]> | undefined;
  if (values['tokens-file']) {
    try {
      tokens = parseTokensFile(fs.readFileSync(values['tokens-file'], 'utf8'));
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  let settings: Static<typeof SimSettingsSchema> | undefined;
  try {
    const given = { fleetUrl: values['fleet-url'], adminToken: values['admin-token'], dataDir: values['data-dir'] };
    ({ settings } = loadSettings(SimSettingsSchema, { env: process.env, values: given }, 'APPL_ERR_CONFIG'));
  } catch (err) {
    problems.push(...(settingsProblems(err) ?? [(err as Error).message]));
  }
  if (problems.length > 0 || !settings) {
    process.stderr.write(`simulate: ${problems.join('; ')}\n${USAGE}\n`);
    process.exit(2);
  }
  const { fleetUrl, adminToken } = settings;
  const dataRoot = path.resolve(settings.dataDir);
  const log = pino({ level: values['log-level'] ?? 'warn', base: { program: 'diemcau-sim' } });
  const abort = new AbortController();
  let sim: Simulation | undefined;
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) process.exit(1); // second Ctrl-C: now
    stopping = true;
    abort.abort();
    process.stderr.write(`[sim] stopping ${sim?.agents.length ?? 0} agents\n`);
    await sim?.close({ graceful: true });
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());

  const total = devicesArg ?? sites;
  const slice =
    slicePart && total !== undefined ? sliceBounds(total, Number(slicePart[1]), Number(slicePart[2])) : undefined;
  const started = Date.now();
  let lastReport = 0;
  sim = await startSimulation({
    fleetUrl,
    adminToken,
    tokens,
    devices: devicesArg,
    sites,
    slice,
    dataRoot,
    telemetryIntervalSec,
    keepaliveSec,
    mqttUrl: values['mqtt-url'],
    concurrency,
    log,
    signal: abort.signal,
    onProgress: (n, total) => {
      if (n === total || Date.now() - lastReport > 2000) {
        lastReport = Date.now();
        process.stderr.write(`[sim] started ${n}/${total}\n`);
      }
    },
  });
  process.stderr.write(
    `[sim] ${sim.agents.length} agents started in ${((Date.now() - started) / 1000).toFixed(1)} s (data in ${dataRoot})\n`,
  );
  const s = sim;
  const timer = setInterval(
    () => process.stderr.write(`[sim] connected ${s.connectedCount()}/${s.agents.length}\n`),
    10_000,
  );
  timer.unref();
  // Keep the process alive while agents run (their timers are unref'd where possible).
  setInterval(() => undefined, 1 << 30);
}

main().catch((err: unknown) => {
  process.stderr.write(`simulate: ${(err as Error).message}\n`);
  process.exit(1);
});

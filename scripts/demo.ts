// `npm run demo`: the fleet server plus one simulated box per site, as real
// processes started the way an operator would start them, and a live meeting
// over real media edges (demo-media.ts). Ctrl-C stops the media boxes and the
// simulator first (each box says "offline"), then the fleet.
//
// Settings: DIEMCAU_DATASET (yen-bai-2022; yen-bai-two-tier or a JSON file:
// the hierarchy, fleet/datasets/), DIEMCAU_HTTP_PORT (8080), DIEMCAU_MQTT_PORT
// (1883), DIEMCAU_DATA_DIR (./data, ./data-<dataset> for another dataset),
// DIEMCAU_ADMIN_TOKEN (generated once and kept in the data dir),
// DIEMCAU_DEMO_DEVICES (default: one per site), DIEMCAU_DEMO_MEDIA (1; 0 runs no
// media edges), DIEMCAU_DEMO_EDGE_PORT (7443: the core's edge, the boxes' next).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { awaitMediaStats, coreFleetEnv, startMediaDemo, type MediaDemo } from './demo-media.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const env = process.env;
const httpPort = Number(env.DIEMCAU_HTTP_PORT ?? 8080);
const mqttPort = Number(env.DIEMCAU_MQTT_PORT ?? 1883);
const withMedia = env.DIEMCAU_DEMO_MEDIA !== '0';
const edgePort = Number(env.DIEMCAU_DEMO_EDGE_PORT ?? 7443);
// The hierarchy: a shipped dataset's name or a JSON file. A registry keeps
// the dataset it was seeded with, so each dataset gets its own data dir.
const dataset = env.DIEMCAU_DATASET ?? 'yen-bai-2022';
const datasetSlug = path.basename(dataset, '.json').replace(/[^a-zA-Z0-9-]+/g, '-');
const dataDir = path.resolve(env.DIEMCAU_DATA_DIR ?? (dataset === 'yen-bai-2022' ? 'data' : `data-${datasetSlug}`));
const logDir = path.join(dataDir, 'logs');
const say = (msg: string): void => void process.stdout.write(`[demo] ${msg}\n`);

/** The admin token: from the environment, else made once and kept (owner-only) so the fleet's stored hash keeps matching. */
function adminToken(): string {
  if (env.DIEMCAU_ADMIN_TOKEN) return env.DIEMCAU_ADMIN_TOKEN;
  const file = path.join(dataDir, 'demo-admin-token');
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
  const token = randomBytes(24).toString('base64url');
  fs.writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return token;
}

function start(name: string, script: string, args: string[], extraEnv: Record<string, string>): ChildProcess {
  const out = fs.openSync(path.join(logDir, `${name}.log`), 'a');
  // Own process group: Ctrl-C reaches only this script, which stops the children in order.
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, script), ...args], {
    cwd: root,
    env: { ...env, ...extraEnv },
    stdio: ['ignore', out, out],
    detached: true,
  });
  fs.closeSync(out);
  return child;
}

const exited = (c: ChildProcess): Promise<void> =>
  c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise((r) => c.once('exit', () => r()));

async function stopChild(c: ChildProcess | undefined, graceMs: number): Promise<void> {
  if (!c || c.exitCode !== null || c.signalCode !== null) return;
  c.kill('SIGTERM');
  const t = setTimeout(() => c.kill('SIGKILL'), graceMs);
  await exited(c);
  clearTimeout(t);
}

async function getJson<T>(url: string, token?: string): Promise<T | undefined> {
  try {
    const res = await fetch(url, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      signal: AbortSignal.timeout(5000),
    });
    return res.ok ? ((await res.json()) as T) : undefined;
  } catch {
    return undefined;
  }
}

/** A program as the edges will find it (a path, else on the PATH); undefined when missing. */
function findCommand(bin: string): string | undefined {
  if (bin.includes('/')) return fs.existsSync(bin) ? bin : undefined;
  return (env.PATH ?? '')
    .split(path.delimiter)
    .map((d) => path.join(d, bin))
    .find((f) => fs.existsSync(f));
}

/** Set once a stop has begun; from then on the stop alone decides the exit code. */
let stopping: Promise<never> | undefined;

async function main(): Promise<void> {
  fs.mkdirSync(logDir, { recursive: true, mode: 0o700 });
  const token = adminToken();
  const base = `http://127.0.0.1:${httpPort}`;
  let fleet: ChildProcess | undefined;
  let sim: ChildProcess | undefined;
  let media: MediaDemo | undefined;
  // Every media process, registered the moment it is spawned: Ctrl-C while the
  // media demo is still starting must stop the boxes and edges started so far.
  const mediaChildren: ChildProcess[] = [];
  // Ctrl-C may arrive twice (the terminal signals tsx and this process): one stop only.
  const stop = (code: number): Promise<never> =>
    (stopping ??= (async () => {
      say('stopping the media boxes and the simulator, then the fleet ...');
      await Promise.all([...mediaChildren.map((c) => stopChild(c, 10_000)), stopChild(sim, 20_000)]);
      await stopChild(fleet, 15_000);
      say('stopped');
      process.exit(code);
    })());
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  // If this script dies anyway, do not leave the children behind.
  process.on('exit', () => {
    for (const c of [...mediaChildren, sim, fleet]) {
      if (!c?.pid || c.exitCode !== null) continue;
      try {
        process.kill(-c.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });

  say(
    `starting the fleet server with the ${dataset} hierarchy (HTTP ${httpPort}, MQTT ${mqttPort}, data ${dataDir}); log: ${path.join(logDir, 'fleet.log')}`,
  );
  fleet = start('fleet', 'fleet/src/main.ts', [], {
    DIEMCAU_HTTP_PORT: String(httpPort),
    DIEMCAU_MQTT_PORT: String(mqttPort),
    DIEMCAU_DATA_DIR: dataDir,
    DIEMCAU_ADMIN_TOKEN: token,
    DIEMCAU_DATASET: dataset.endsWith('.json') ? path.resolve(dataset) : dataset,
    ...(withMedia ? coreFleetEnv(dataDir, edgePort) : {}),
  });
  fleet.once('exit', (code, signal) => {
    if (!stopping) {
      say(`the fleet server exited (${signal ?? code}); see ${path.join(logDir, 'fleet.log')}`);
      void stop(1);
    }
  });
  const t0 = Date.now();
  while (!(await getJson(`${base}/healthz`))) {
    if (Date.now() - t0 > 120_000) {
      say('the fleet did not answer /healthz within 2 minutes');
      return void (await stop(1));
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const sites = await getJson<{ items: unknown[] }>(`${base}/api/v1/sites`, token);
  const want = Number(env.DIEMCAU_DEMO_DEVICES ?? sites?.items.length ?? 210);
  say(
    `fleet up after ${((Date.now() - t0) / 1000).toFixed(1)} s; starting ${want} simulated boxes; log: ${path.join(logDir, 'sim.log')}`,
  );
  sim = start(
    'sim',
    'appliance/src/sim.ts',
    ['--fleet-url', base, '--devices', String(want), '--data-dir', path.join(dataDir, 'sim'), '--log-level', 'warn'],
    { DIEMCAU_ADMIN_TOKEN: token },
  );
  sim.once('exit', (code, signal) => {
    if (!stopping) {
      say(`the simulator exited (${signal ?? code}); see ${path.join(logDir, 'sim.log')}`);
      void stop(1);
    }
  });
  const t1 = Date.now();
  let last = -1;
  for (;;) {
    const h = await getJson<{ devicesOnline: number }>(`${base}/healthz`);
    const online = h?.devicesOnline ?? 0;
    if (online !== last) say(`${online}/${want} online (${((Date.now() - t1) / 1000).toFixed(1)} s)`);
    last = online;
    if (online >= want) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  say(`all ${want} sites online after ${((Date.now() - t1) / 1000).toFixed(1)} s`);
  const ffmpeg = withMedia ? findCommand(env.DIEMCAU_FFMPEG_BIN ?? 'ffmpeg') : 'none';
  if (withMedia && !ffmpeg) {
    say('no live meeting: ffmpeg is not installed, and the simulated rooms encode their camera and microphone with it');
    say('install it with `sudo apt-get install ffmpeg` (or set DIEMCAU_FFMPEG_BIN), then run the demo again');
  } else if (withMedia) {
    if (env.DIEMCAU_EDGE_VIDEO_SENDER !== 'ffmpeg' && !findCommand(env.DIEMCAU_GST_LAUNCH_BIN ?? 'gst-launch-1.0')) {
      say(
        "GStreamer is not installed: ffmpeg sends the cameras too, so a new speaker's picture waits for its next keyframe (up to 2 s)",
      );
      say(
        'for pictures at once: sudo apt-get install gstreamer1.0-tools gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly',
      );
      env.DIEMCAU_EDGE_VIDEO_SENDER = 'ffmpeg';
    }
    say(
      `starting the province's core edge and four media boxes; logs: ${path.join(logDir, 'edge-*.log')}, ${path.join(logDir, 'box-*.log')}`,
    );
    media = await startMediaDemo({
      base,
      token,
      dataDir,
      edgePort,
      say,
      start: (name, script, extra) => {
        if (stopping) throw new Error('stopping');
        const child = start(name, script, [], extra);
        mediaChildren.push(child);
        return child;
      },
    });
    const ok = await awaitMediaStats({ base, token, say }, media.meetingId);
    if (!ok) say(`not every room reports media yet; see ${path.join(logDir, 'edge-*.log')}`);
    say(`meeting:     http://localhost:${httpPort}/#/meetings/${media.meetingId}`);
    say(`a TV:        ${media.urls.at(-1)}`);
  }
  say(`dashboard:   http://localhost:${httpPort}/`);
  say(`API docs:    http://localhost:${httpPort}/docs`);
  say(`admin token: ${token}   (Authorization: Bearer <token>)`);
  say(`try:         curl -H "Authorization: Bearer ${token}" http://localhost:${httpPort}/api/v1/alerts?state=open`);
  say('Ctrl-C stops everything');
}

main().catch((err: unknown) => {
  // Ctrl-C in the middle of starting makes the steps still running fail (their
  // processes are going away): the stop under way finishes and exits.
  if (stopping) return;
  process.stderr.write(`[demo] ${(err as Error).message}\n`);
  process.exit(1);
});

// OTA as the agent wires it: the desired release arrives on the router,
// reports leave through publishDurable, the restart goes through the agent's
// stop, the health gate uses its session and self-test, and the box serves
// its cache. Two "starts" of the agent stand for the restart into the new
// version. The camera was already missing before the update: the gate
// compares with the pre-switch baseline and still commits.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { pino } from 'pino';
import { startAgentOta, type OtaAgentPort } from '../../src/ota/agent-ota.js';
import { otaConfigFromEnv } from '../../src/ota/config.js';
import { buildArtifact, desiredFor, makeBox, makeKeys, startOrigin, tmpDir } from './harness.js';

const dir = tmpDir('diemcau-agent-ota-');
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const keys = makeKeys();
const base = buildArtifact(dir, '1.0.0');
const next = buildArtifact(dir, '1.1.0');
const origin = await startOrigin();
t.teardown(() => origin.close());
origin.add(next);
const box = makeBox(dir, 'district-box', base, [keys.trusted]);

const reports: Record<string, unknown>[] = [];
const makePort = () => {
  let handler: ((p: Buffer) => void) | null = null;
  const port: OtaAgentPort = {
    router: {
      on: (_channel, h) => {
        handler = h;
        return () => (handler = null);
      },
    },
    publishDurable: async (_channel, payload) => void reports.push(JSON.parse(payload) as Record<string, unknown>),
    session: { connected: true, waitConnected: async () => undefined },
    identity: { fleetUrl: origin.url },
  };
  return { port, deliver: (body: unknown) => handler?.(Buffer.from(JSON.stringify(body))) };
};
const env = {
  DIEMCAU_OTA_ROOT: box.root,
  DIEMCAU_OTA_STATE_DIR: box.state,
  DIEMCAU_OTA_TRUSTED_KEYS: box.keysFile,
  DIEMCAU_OTA_CACHE_PORT: '0',
  DIEMCAU_OTA_HEALTH_TIMEOUT_SEC: '10',
};
const selfTest = async () => ({
  ok: false,
  peripherals: { camera: 'missing', microphone: 'ok', display: 'ok', gpio: 'unknown' },
});
const log = pino({ level: process.env.TEST_LOG ?? 'silent' });

t.test('first start: takes the desired release, switches, asks for a restart', async (t) => {
  const { port, deliver } = makePort();
  let restarted: (reason: string) => void = () => undefined;
  const restart = new Promise<string>((resolve) => (restarted = resolve));
  const ota = await startAgentOta({
    agent: port,
    selfTest,
    restart: (r) => restarted(r),
    agentVersion: '1.0.0',
    config: otaConfigFromEnv(env, dir),
    invocationId: undefined,
    log,
  });
  t.ok(ota.updater, 'updates are on: the box has the layout');
  deliver({ v: 2, nonsense: true });
  t.equal(ota.updater!.counters.rejectedDesired, 1, 'a bad desired message is counted, not fatal');
  // A path, resolved against the fleet URL the box enrolled with.
  deliver({ v: 1, release: desiredFor(next, keys, ['/api/v1/releases/1.1.0/artifact'], { rolloutId: 'r-1' }) });
  t.match(await restart, /switching version/);
  await ota.close();
  t.equal(fs.readlinkSync(path.join(box.root, 'current')), path.join('versions', '1.1.0'));
  t.ok(fs.existsSync(path.join(box.state, 'health-baseline.json')), 'baseline recorded before the switch');
  t.ok(
    reports.some((r) => r.state === 'downloading' && r.rolloutId === 'r-1'),
    'progress reported',
  );
  t.ok(typeof reports.at(-1)?.cacheUrl === 'string', 'reports carry the cache URL');

  const cacheUrl = String(reports.at(-1)!.cacheUrl);
  const res = await fetch(`${cacheUrl}/api/v1/releases/1.1.0/artifact`).catch(() => null);
  t.equal(res, null, 'the cache closed with the agent');
});

t.test('second start: the new version passes its gate and commits', async (t) => {
  const { port } = makePort();
  let restarts = 0;
  const ota = await startAgentOta({
    agent: port,
    selfTest,
    restart: () => restarts++,
    agentVersion: '1.1.0',
    config: otaConfigFromEnv(env, dir),
    invocationId: undefined,
    log,
  });
  const committed = await new Promise<Record<string, unknown>>((resolve) => {
    const iv = setInterval(() => {
      const r = reports.find((x) => x.state === 'committed');
      if (r) {
        clearInterval(iv);
        resolve(r);
      }
    }, 20);
  });
  t.match(
    committed,
    { target: '1.1.0', current: '1.1.0', rolloutId: 'r-1' },
    'committed and reported, camera missing before and after',
  );
  t.equal(restarts, 0);
  t.ok(ota.cache, 'a district box runs the cache');
  const cache = await fetch(`${String(reports.at(-1)!.cacheUrl)}/api/v1/releases/1.1.0/artifact`);
  t.equal(cache.status, 200, 'the district cache serves communes');
  t.equal(Buffer.from(await cache.arrayBuffer()).length, next.manifest.size);
  await ota.close();
});

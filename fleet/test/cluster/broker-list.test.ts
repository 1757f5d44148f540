// A node added after the boxes enrolled reaches them: the fleet's broker list
// (one retained message, shared/src/brokers.ts) reaches a real agent on
// another node through Redis, the agent stores it in its identity file and,
// when its own node goes away, fails over to the new one. A device cannot
// publish a list of its own.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import t from 'tap';
import mqtt from 'mqtt';
import { BROKERS_TOPIC, brokerListCodec, type EnrolResponse } from '@diemcau/shared';
import { buildFleet, type Fleet } from '../../src/app.js';
import { ADMIN_TOKEN, waitFor } from '../helpers/fleet.js';
import { freePort, startRedis } from '../helpers/redis.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
type Teardown = { teardown(fn: () => unknown): void };

async function startNode(t: Teardown, o: { redisUrl: string; dataDir: string; name: string; urls: string[] }) {
  const [httpPort, mqttPort] = [await freePort(), await freePort()];
  const url = `mqtt://127.0.0.1:${mqttPort}`;
  const fleet = await buildFleet({
    config: {
      httpPort,
      mqttPort,
      host: '127.0.0.1',
      dataDir: o.dataDir,
      adminToken: ADMIN_TOKEN,
      logLevel: 'silent',
      redisUrl: o.redisUrl,
      nodeId: o.name,
      publicMqttUrl: url,
      publicMqttUrls: [...o.urls, url].join(','),
      clusterHeartbeatMs: 200,
      clusterNodeTimeoutMs: 3000,
      leaderLeaseMs: 3000,
    },
  });
  t.teardown(() => fleet.close());
  return { fleet, url, base: `http://127.0.0.1:${httpPort}` };
}

async function token(fleet: Fleet, siteId: string): Promise<string> {
  const res = await fleet.http.inject({
    method: 'POST',
    url: `/api/v1/sites/${siteId}/enrollment-tokens`,
    headers: auth,
    payload: {},
  });
  return res.json<{ token: string }>().token;
}

interface StoredIdentity {
  deviceId: string;
  mqtt: { url: string; urls?: string[] };
}

const readIdentity = (dir: string): StoredIdentity | undefined => {
  try {
    return JSON.parse(readFileSync(join(dir, 'identity.json'), 'utf8')) as StoredIdentity;
  } catch {
    return undefined;
  }
};

t.test('a node added later: the box stores the new list and fails over to the new node', async (t) => {
  const redis = await startRedis(t);
  const dataDir = mkdtempSync(join(tmpdir(), 'diemcau-brokers-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const a = await startNode(t, { redisUrl: redis.url, dataDir, name: 'node-a', urls: [] });

  // A real agent, enrolled on A when A was the whole fleet: no list then.
  const boxDir = join(dataDir, 'box');
  const agent = spawn(process.execPath, ['--import', 'tsx', 'appliance/src/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      DIEMCAU_FLEET_URL: a.base,
      DIEMCAU_ENROLL_TOKEN: await token(a.fleet, 'yb-city'),
      DIEMCAU_DATA_DIR: boxDir,
      DIEMCAU_HARDWARE: 'simulated',
      DIEMCAU_KEEPALIVE_SEC: '2',
      DIEMCAU_LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  for (const s of [agent.stdout, agent.stderr])
    s.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  const exited = new Promise<void>((r) => agent.once('exit', () => r()));
  t.teardown(async () => {
    if (agent.exitCode === null && agent.signalCode === null) agent.kill('SIGKILL');
    await exited;
  });
  const id = await waitFor(() => readIdentity(boxDir), 60_000, 'the box enrolled');
  t.equal(id.mqtt.url, a.url);
  t.equal(id.mqtt.urls, undefined, 'enrolled with no list');
  await waitFor(() => a.fleet.broker.sessionCount === 1, 60_000, `the box on A\n${out}`);

  // B joins with the longer list; the box, still on A, hears it through Redis.
  const b = await startNode(t, { redisUrl: redis.url, dataDir, name: 'node-b', urls: [a.url] });
  const stored = await waitFor(
    () => (readIdentity(boxDir)?.mqtt.urls?.length === 2 ? readIdentity(boxDir) : undefined),
    30_000,
    `the list stored\n${out}`,
  );
  t.same(stored.mqtt.urls, [a.url, b.url], "the fleet's list, in the box's identity file");
  t.equal(stored.mqtt.url, a.url, 'the broker it enrolled with is kept');
  t.equal(a.fleet.broker.sessionCount, 1, 'the box was not cut to learn it');

  // A goes away: the box finds B, which it never heard of at enrolment.
  await a.fleet.close();
  await waitFor(() => b.fleet.broker.sessionCount === 1, 60_000, `the box on B\n${out}`);
  await waitFor(
    async () =>
      (await b.fleet.http.inject({ method: 'GET', url: `/api/v1/devices/${id.deviceId}`, headers: auth })).json<{
        online: boolean;
      }>().online,
    30_000,
    'online on B',
  );
  t.pass('online again, through B');
});

t.test('a device cannot publish a broker list, and a list it hears comes from the fleet', async (t) => {
  const redis = await startRedis(t);
  const dataDir = mkdtempSync(join(tmpdir(), 'diemcau-brokers-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const a = await startNode(t, { redisUrl: redis.url, dataDir, name: 'node-a', urls: ['mqtt://other.example:1883'] });
  const enrolled = await a.fleet.http.inject({
    method: 'POST',
    url: '/api/v1/enroll',
    payload: { token: await token(a.fleet, 'yb-city'), hardware: { agentVersion: '0.1.0' } },
  });
  const box = enrolled.json<EnrolResponse>();
  const client = await mqtt.connectAsync(a.url, {
    clientId: box.deviceId,
    username: box.mqtt.username,
    password: box.mqtt.password,
    reconnectPeriod: 0,
  });
  t.teardown(() => client.end(true));
  const heard = new Promise<Buffer>((r) => client.once('message', (_topic, payload) => r(payload)));
  await client.subscribeAsync(BROKERS_TOPIC, { qos: 1 });
  const list = brokerListCodec.decode(await heard);
  t.ok(list.ok && list.value.urls.includes('mqtt://other.example:1883'), 'the retained list, on subscribe');

  const closed = new Promise<void>((r) => client.once('close', () => r()));
  client.publish(
    BROKERS_TOPIC,
    brokerListCodec.encode({ v: 1, urls: ['mqtt://evil.example:1883'], at: new Date().toISOString() }),
    { qos: 1, retain: true },
  );
  await closed;
  t.pass('the publish was refused and the connection closed');
  const watcher = await mqtt.connectAsync(a.url, {
    clientId: box.deviceId,
    username: box.mqtt.username,
    password: box.mqtt.password,
    reconnectPeriod: 0,
  });
  t.teardown(() => watcher.end(true));
  const again = new Promise<Buffer>((r) => watcher.once('message', (_topic, payload) => r(payload)));
  await watcher.subscribeAsync(BROKERS_TOPIC, { qos: 1 });
  const after = brokerListCodec.decode(await again);
  t.ok(after.ok && !after.value.urls.includes('mqtt://evil.example:1883'), 'the list is still the fleet one');
});

// In a cluster a node may die at any moment, so a device's telemetry is
// acknowledged only once it is written: a box that got its PUBACK may forget
// the sample, and a node killed before writing it must not have sent one.
// (aedes writes a QoS 1 PUBACK before its `published` hook runs; holding the
// ack there let a killed node lose up to a write interval of samples.)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { deviceTopic, type EnrolResponse } from '@diemcau/shared';
import { buildFleet } from '../../src/app.js';
import { ADMIN_TOKEN, connectDevice, telemetry } from '../helpers/fleet.js';
import { startRedis } from '../helpers/redis.js';

const FLUSH_MS = 1500;

t.test('a telemetry PUBACK leaves a cluster node only after the sample is stored', async (t) => {
  const redis = await startRedis(t);
  const dataDir = mkdtempSync(join(tmpdir(), 'diemcau-ack-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const fleet = await buildFleet({
    config: {
      httpPort: 0,
      mqttPort: 0,
      host: '127.0.0.1',
      dataDir,
      adminToken: ADMIN_TOKEN,
      logLevel: 'silent',
      redisUrl: redis.url,
      nodeId: 'node-a',
      telemetryFlushMs: FLUSH_MS,
    },
  });
  t.teardown(() => fleet.close());
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const tok = await fleet.http.inject({
    method: 'POST',
    url: '/api/v1/sites/yb-city/enrollment-tokens',
    headers: auth,
    payload: {},
  });
  const enrolled = await fleet.http.inject({
    method: 'POST',
    url: '/api/v1/enroll',
    payload: { token: tok.json<{ token: string }>().token, hardware: { agentVersion: '0.1.0' } },
  });
  const box = enrolled.json<EnrolResponse>();
  const client = await connectDevice(t, { ...box, mqtt: { ...box.mqtt, url: `mqtt://127.0.0.1:${fleet.mqttPort}` } });

  const stored = async (seq: number): Promise<boolean> =>
    (await fleet.repos.telemetry.latest(box.deviceId, 10)).some((s) => s.seq === seq);
  for (const seq of [0, 1, 2]) {
    await client.publishAsync(deviceTopic(box.deviceId, 'telemetry'), JSON.stringify(telemetry(seq)), { qos: 1 });
    t.ok(await stored(seq), `sample ${seq} is in the registry when its PUBACK arrives`);
  }
  t.equal((await fleet.repos.telemetry.latest(box.deviceId, 10)).length, 3, 'each stored once');
  // Closed here, while Redis still runs (teardowns run in the order they were
  // added, and Redis's came first); the teardown above is then a no-op.
  await client.endAsync();
  await fleet.close();
});

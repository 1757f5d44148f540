import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { deviceTopic } from '@diemcau/shared';
import { mergeFleet } from '../../src/db/import/merge.js';
import { connectDevice, startTestFleet, telemetry, waitFor } from '../helpers/fleet.js';
import { startPostgres } from '../helpers/postgres.js';

// A merge into a fleet whose registry is PostgreSQL (a cluster), from an
// embedded fleet's SQLite file: the same importer, the other engine. Alerts
// and audit rows get ids past the target's, the identity counters move past
// them, an alert open in both under one key comes in resolved, and the merged
// box connects with the password it had.

const log = pino({ level: 'silent' });
const server = await startPostgres(t);

t.test('an embedded fleet merged into a fleet on PostgreSQL', async (t) => {
  const srcDir = mkdtempSync(join(tmpdir(), 'diemcau-merge-src-'));
  t.teardown(() => rmSync(srcDir, { recursive: true, force: true }));
  const holder = { teardown: (_fn: () => unknown) => undefined };
  const src = await startTestFleet(holder, {}, srcDir);
  const moved = await src.enrol('yb-van-yen', { serial: 'SN-MERGE-PG' });
  const box = await connectDevice(t, moved);
  for (let seq = 1; seq <= 4; seq++)
    box.publish(deviceTopic(moved.deviceId, 'telemetry'), JSON.stringify(telemetry(seq)), { qos: 1 });
  await waitFor(
    async () => (await src.fleet.repos.telemetry.latest(moved.deviceId, 10)).length === 4,
    10_000,
    'telemetry stored',
  );
  await src.fleet.alerts.open({ type: 'test-merge', key: 'test-merge:shared', siteId: 'yb-van-yen' });
  await src.fleet.alerts.open({ type: 'test-merge', key: 'test-merge:own', siteId: 'yb-van-yen' });
  await box.endAsync();
  await src.fleet.close();

  const url = await server.createDatabase();
  const dst = await startTestFleet(t, { databaseUrl: url });
  const mine = await dst.fleet.alerts.open({ type: 'test-merge', key: 'test-merge:shared', siteId: 'yb-city' });
  // The same seeds on both sides: every site merges into the one with its id.
  const mapping = JSON.stringify({ v: 1, unlisted: 'same-id', sites: {} });
  const config = { dataDir: dst.dataDir, dbFile: 'fleet.sqlite', databaseUrl: url, databasePoolSize: 2 };
  const from = join(srcDir, 'fleet.sqlite');
  const dry = await mergeFleet({ config, from, mapping, apply: false, log });
  t.same(dry.plan.problems, []);
  t.equal(dry.result, null, 'a dry run writes nothing');

  const out = await mergeFleet({ config, from, mapping, apply: true, log });
  t.equal(out.result?.written.devices, 1);
  t.equal(out.result?.written.telemetry, 4);
  t.equal(out.result?.written.sites, 0, 'every site merged into its namesake');
  await dst.api('POST', '/api/v1/registry/reload');

  const alerts = await dst.fleet.alerts.list({ type: 'test-merge' });
  const shared = alerts.filter((a) => a.key === 'test-merge:shared');
  t.equal(shared.filter((a) => a.state === 'open').length, 1, 'one open alert per key');
  t.equal(shared.find((a) => a.state === 'open')?.id, mine.id, 'ours stays open');
  t.ok(
    alerts.every((a) => a.id === mine.id || a.id > mine.id),
    'imported alerts numbered after ours',
  );
  const next = await dst.fleet.alerts.open({ type: 'test-merge', key: 'test-merge:after' });
  t.ok(next.id > Math.max(...alerts.map((a) => a.id)), 'the identity counter moved past the imported ids');
  t.ok(
    (await dst.fleet.repos.audit.list({ limit: 50 })).some((e) => e.action === 'fleet.merge'),
    'the merge is audited',
  );

  const again = await connectDevice(t, {
    ...moved,
    mqtt: { ...moved.mqtt, url: `mqtt://127.0.0.1:${dst.fleet.mqttPort}` },
  });
  await waitFor(() => dst.fleet.presence.isOnline(moved.deviceId), 10_000, 'the merged box online');
  again.end(true);
  const twice = await mergeFleet({ config, from, mapping, apply: true, log });
  t.match(twice.plan.problems.join('\n'), /device .* exists in both fleets/, 'a second merge is refused');
});

// The alert service folds updates of one key queued behind each other into
// one write (a storm's incident changes with every box that comes back),
// and never moves an update across an open or a resolve of the same key.
// Real SQLite registry.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import pino from 'pino';
import { SqliteDb } from '../../src/db/sqlite.js';
import { createRepos } from '../../src/db/repos.js';
import { AlertService } from '../../src/alerts/service.js';
import { FleetEvents } from '../../src/events.js';
import { createMetrics } from '../../src/metrics.js';

const log = pino({ level: 'silent' });

async function setup(t: { teardown(fn: () => unknown): void }) {
  const dir = await mkdtemp(join(tmpdir(), 'diemcau-alert-updates-'));
  const db = await SqliteDb.open(join(dir, 'fleet.sqlite'), log);
  t.teardown(async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });
  const repos = createRepos(db, { telemetryKeep: 100 });
  const events = new FleetEvents(log);
  const alerts = new AlertService(repos.alerts, events, createMetrics(), log, undefined);
  const updated: Array<Record<string, unknown> | null> = [];
  events.on('alert-updated', (a) => updated.push(a.details));
  return { alerts, repos, updated };
}

const incident = {
  type: 'fleet-reconnect',
  key: 'fleet-reconnect',
  siteId: null,
  deviceId: null,
  severity: 'critical' as const,
};

t.test('updates queued one behind another are one write of the latest', async (t) => {
  const { alerts, repos, updated } = await setup(t);
  const opening = alerts.open({ ...incident, details: { offlineCount: 1000 } });
  const answers = [];
  for (let n = 999; n >= 900; n--) answers.push(alerts.update('fleet-reconnect', { details: { offlineCount: n } }));
  await opening;
  const got = await Promise.all(answers);
  t.ok(updated.length < 5, `${updated.length} writes for 100 updates`);
  t.same(updated.at(-1), { offlineCount: 900 }, 'the last one written is the latest');
  t.same((await repos.alerts.getOpen('fleet-reconnect'))?.details, { offlineCount: 900 }, 'and stored');
  t.ok(
    got.every((a) => a?.details?.offlineCount === 900),
    'every caller is answered with the alert as written',
  );
});

t.test('updates spread over time are written at most once a second, the latest last', async (t) => {
  const { alerts, repos, updated } = await setup(t);
  await alerts.open({ ...incident, details: { offlineCount: 100 } });
  const answers = [];
  // 100 updates over about 1.5 s, as boxes come back one by one.
  for (let n = 99; n >= 0; n--) {
    answers.push(alerts.update('fleet-reconnect', { details: { offlineCount: n } }));
    await new Promise((r) => setTimeout(r, 15));
  }
  await Promise.all(answers);
  t.ok(updated.length >= 2 && updated.length <= 4, `${updated.length} writes for 100 updates`);
  t.same(updated.at(-1), { offlineCount: 0 }, 'the last one written is the latest');
  t.same((await repos.alerts.getOpen('fleet-reconnect'))?.details, { offlineCount: 0 }, 'and stored');

  // An update waiting for its second is written before a resolve behind it, not dropped.
  void alerts.update('fleet-reconnect', { details: { offlineCount: 7 } });
  const resolved = await alerts.resolve('fleet-reconnect', 'the boxes reconnected');
  t.same(resolved?.details, { offlineCount: 7 }, 'the resolved alert keeps the update before it');
});

t.test('an update never crosses a resolve or an open of its key', async (t) => {
  const { alerts, repos, updated } = await setup(t);
  await alerts.open({ ...incident, details: { offlineCount: 10 } });
  const before = alerts.update('fleet-reconnect', { details: { offlineCount: 9 } });
  const resolving = alerts.resolve('fleet-reconnect', 'the boxes reconnected');
  // After the resolve: a new incident opens, then changes.
  const after = alerts.update('fleet-reconnect', { details: { offlineCount: 8 } });
  const reopening = alerts.open({ ...incident, details: { offlineCount: 50 } });
  const later = alerts.update('fleet-reconnect', { details: { offlineCount: 49 } });
  const [b, r, a, o, l] = await Promise.all([before, resolving, after, reopening, later]);
  t.equal(b?.details?.offlineCount, 9, 'the update before the resolve applied to the first incident');
  t.ok(r?.resolvedAt, 'which was then resolved');
  t.equal(a, undefined, 'an update between the resolve and the new open finds nothing open');
  t.equal(o.details?.offlineCount, 50, 'the new incident opened as asked');
  t.equal(l?.details?.offlineCount, 49, 'and took its own update');
  t.same(updated, [{ offlineCount: 9 }, { offlineCount: 49 }], 'no update moved across');
  t.equal((await repos.alerts.getOpen('fleet-reconnect'))?.details?.offlineCount, 49);
});

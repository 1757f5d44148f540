// A presence write the registry does not take is written again. The leader
// writes each change of presence to the registry (what the dashboard's lists
// and a new leader read); when PostgreSQL restarted or cut a connection, the
// write was logged and dropped, and the registry stayed wrong until a leader
// change corrected it. Here the registry refuses presence writes for a while
// (a trigger that fails them, as a registry that cannot write would): the
// device's state lands once it takes writes again, and it is the latest one.
import t from 'tap';
import { connectDevice, startTestFleet, waitFor } from '../helpers/fleet.js';
import { metricValue } from '../helpers/enrol.js';

const SITE = 'yb-city';

t.test('a presence write the registry refused is written again, the latest state', async (t) => {
  const { api, enrol, fleet } = await startTestFleet(t, { startupGraceMs: 0, offlineDebounceMs: 0 });
  const creds = await enrol(SITE);
  const online = async (): Promise<number | undefined> =>
    (await fleet.db.get<{ online: number }>('SELECT online FROM devices WHERE id = ?', [creds.deviceId]))?.online;
  const retries = (): Promise<number> => metricValue(api, /^diemcau_presence_write_retries_total (\d+)/m);

  await fleet.db.exec(`
    CREATE TABLE registry_down (x INTEGER);
    INSERT INTO registry_down VALUES (1);
    CREATE TRIGGER refuse_presence BEFORE UPDATE OF online ON devices
      WHEN EXISTS (SELECT 1 FROM registry_down)
      BEGIN SELECT RAISE(ABORT, 'the registry cannot write now'); END;
  `);

  const box = await connectDevice(t, creds);
  await waitFor(() => fleet.presence.isOnline(creds.deviceId), 10_000, 'the box counted online');
  await fleet.presence.idle(); // the write was tried
  t.equal(await online(), 0, 'the registry still says offline: it refused the write');

  // Offline and online again while the registry refuses: only the latest may land.
  box.end(true);
  await waitFor(() => !fleet.presence.isOnline(creds.deviceId), 10_000, 'the box counted offline');
  const again = await connectDevice(t, creds);
  await waitFor(() => fleet.presence.isOnline(creds.deviceId), 10_000, 'the box counted online again');
  await fleet.presence.idle();
  t.equal(await online(), 0, 'nothing landed yet');

  await fleet.db.run('DELETE FROM registry_down');
  await waitFor(async () => (await online()) === 1, 15_000, 'the registry says online');
  // The first write, then the offline and the online again (one write if they fell in one window).
  t.ok((await retries()) >= 2, 'each refused write was counted');
  // A few retry rounds later it still says online: no older write overtook the latest.
  await new Promise((r) => setTimeout(r, 6_000));
  t.equal(await online(), 1, 'still online: the failed offline write was never written over it');
  again.end(true);
  await waitFor(async () => (await online()) === 0, 10_000, 'and offline once the box leaves');
});

t.test('an alert the store refused to open opens once it takes writes; one resolved meanwhile does not', async (t) => {
  const { enrol, fleet } = await startTestFleet(t, { startupGraceMs: 0, offlineDebounceMs: 0 });
  const [a, b] = [await enrol(SITE), await enrol(SITE)];
  const [boxA, boxB] = [await connectDevice(t, a), await connectDevice(t, b)];
  await waitFor(() => fleet.presence.online === 2, 10_000, 'both boxes online');
  await fleet.db.exec(`
    CREATE TABLE alerts_down (x INTEGER);
    INSERT INTO alerts_down VALUES (1);
    CREATE TRIGGER refuse_alerts BEFORE INSERT ON alerts
      WHEN EXISTS (SELECT 1 FROM alerts_down)
      BEGIN SELECT RAISE(ABORT, 'the alert store cannot write now'); END;
  `);
  const open = async (): Promise<string[]> =>
    (await fleet.alerts.list({ state: 'open', type: 'device-offline', limit: 10 })).map((x) => x.deviceId!).sort();

  // Both drop; B comes back before the store takes writes again.
  boxA.end(true);
  boxB.end(true);
  await waitFor(() => fleet.presence.online === 0, 10_000, 'both boxes counted offline');
  await new Promise((r) => setTimeout(r, 500)); // past the debounce: both opens tried and refused
  t.same(await open(), [], 'nothing opened while the store refuses');
  const backB = await connectDevice(t, b);
  t.teardown(() => backB.end(true));
  await waitFor(() => fleet.presence.isOnline(b.deviceId), 10_000, 'B back');

  await fleet.db.run('DELETE FROM alerts_down');
  await waitFor(async () => (await open()).length > 0, 15_000, "A's alert opened");
  await new Promise((r) => setTimeout(r, 6_000)); // another retry round: nothing more
  t.same(await open(), [a.deviceId], "A's alert only: B came back before it could open");
});

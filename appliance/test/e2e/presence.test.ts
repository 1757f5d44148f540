import path from 'node:path';
import t from 'tap';
import { alertsFor, isOnline, mintToken, provinceSites, startAgent, startFleet, tempDir, until } from './procs.js';

// Real processes: one fleet server, agents started as `npm run appliance`
// starts them. A crash (kill -9) and a silent link loss (SIGSTOP: no FIN, no
// pings) must each open a device-offline alert; the crashed agent's restart
// (same data dir, no new enrolment) resolves it.

t.test('kill -9 opens device-offline, the restart resolves it; SIGSTOP opens it after keepalive expiry', async (t) => {
  const root = tempDir(t, 'e2e-presence');
  const fleet = await startFleet(t, { dataDir: path.join(root, 'fleet') });
  const [siteA, siteB] = await provinceSites(fleet, 2);
  const env = { DIEMCAU_KEEPALIVE_SEC: '4', DIEMCAU_TELEMETRY_INTERVAL_SEC: '2' };

  const dirA = path.join(root, 'agent-a');
  const a = startAgent(t, { fleetUrl: fleet.url, dataDir: dirA, token: await mintToken(fleet, siteA!), env });
  const b = startAgent(t, {
    fleetUrl: fleet.url,
    dataDir: path.join(root, 'agent-b'),
    token: await mintToken(fleet, siteB!),
    env,
  });
  const idA = await a.deviceId();
  const idB = await b.deviceId();
  await until('both online', async () => (await isOnline(fleet, idA)) && (await isOnline(fleet, idB)));
  t.same(await alertsFor(fleet, 'open', idA), [], 'no alert while online');

  // Crash: the kernel closes the socket, the broker publishes the will.
  a.kill('SIGKILL');
  await a.exited;
  const opened = await until('a device-offline alert for the crashed agent', async () => {
    const open = await alertsFor(fleet, 'open', idA);
    return open.find((x) => x.type === 'device-offline');
  });
  t.equal(opened.deviceId, idA);
  t.equal(opened.siteId, siteA);
  t.notOk(await isOnline(fleet, idA), 'shown offline');

  // Restart with the same data dir: same identity, no token needed, alert resolved.
  const a2 = startAgent(t, { fleetUrl: fleet.url, dataDir: dirA, env });
  t.equal(await a2.deviceId(), idA, 'same device after restart');
  await until('the alert to resolve', async () =>
    (await alertsFor(fleet, 'resolved', idA)).some((x) => x.id === opened.id),
  );
  t.same(
    (await alertsFor(fleet, 'open', idA)).filter((x) => x.type === 'device-offline'),
    [],
    'nothing left open for the restarted device',
  );
  // The registry's flag follows within its presence-write window (50 ms) of the resolve.
  await until('the registry to show it online', () => isOnline(fleet, idA));
  const devices = (await fleet.api<{ items: { id: string }[] }>('GET', '/api/v1/devices')).items;
  t.equal(devices.filter((d) => d.id === idA).length, 1, 'not enrolled a second time');

  // Silent loss: the process freezes, its socket stays open; only keepalive expiry can tell.
  b.kill('SIGSTOP');
  const silent = await until('a device-offline alert for the frozen agent', async () =>
    (await alertsFor(fleet, 'open', idB)).find((x) => x.type === 'device-offline'),
  );
  t.equal(silent.siteId, siteB);
  b.kill('SIGCONT');
  await until('the frozen agent to come back', async () =>
    (await alertsFor(fleet, 'resolved', idB)).some((x) => x.id === silent.id),
  );
  t.pass('resolved after the agent thawed and reconnected');
});

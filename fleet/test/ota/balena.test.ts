// The rollout planner driving devices through balena-sdk 22 (pin to a
// release, reboot, read online state and the running release), against a
// local STAND-IN for the balena API endpoints the sdk calls: not balenaCloud.
// The fleet builds the driver from its settings (DIEMCAU_OTA_DRIVER=balena),
// as main.ts does.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { startBalenaStandin } from './balena-standin.js';
import { publishRelease, startOtaFleet } from './harness.js';

const standin = await startBalenaStandin({ token: 'balena-api-key', appSlug: 'yenbai/diemcau-agent' });
t.teardown(() => standin.close());
standin.releases.push(
  { id: 501, commit: 'a'.repeat(32), raw_version: '0.1.0', status: 'success' },
  { id: 502, commit: 'b'.repeat(32), raw_version: '1.1.0', status: 'success' },
);

const secrets = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-balena-'));
t.teardown(() => fs.rmSync(secrets, { recursive: true, force: true }));
const tokenFile = path.join(secrets, 'balena-token');
fs.writeFileSync(tokenFile, 'balena-api-key\n', { mode: 0o600 });
const f = await startOtaFleet(t, {
  config: {
    driver: 'balena',
    balenaApiUrl: standin.url,
    balenaTokenFile: tokenFile,
    balenaFleet: 'yenbai/diemcau-agent',
    balenaReboot: true,
  },
});
const communes = f.fleet.sites
  .all()
  .filter((s) => s.parentId === 'yb-van-chan')
  .slice(0, 6);
const broken = new Set<string>();
for (const [i, s] of communes.entries()) {
  const creds = await f.enrol(s.id);
  standin.devices.set(creds.deviceId, {
    id: 100 + i,
    uuid: creds.deviceId,
    device_name: s.id,
    // One box is offline on balena: never pinned while it stays so.
    is_connected_to_vpn: i !== 5,
    is_pinned_on__release: null,
    is_running__release: 501,
    update_status: 'done',
  });
  if (i === 4) broken.add(creds.deviceId);
}
// Plays each device's supervisor: a pinned device runs the release, a broken one aborts.
standin.onPin = (d) => {
  if (broken.has(d.uuid)) d.update_status = 'aborted';
  else d.is_running__release = d.is_pinned_on__release;
};
await publishRelease(f, '1.1.0');

t.test('a rollout pins, reboots and reads back through balena-sdk', async (t) => {
  const res = await f.api<{ id: string }>('POST', '/api/v1/rollouts', {
    release: '1.1.0',
    rootSiteId: 'yb-van-chan',
    rings: [
      { name: 'pilot', select: { kind: 'sites', siteIds: [communes[0]!.id] }, maxInFlight: 1 },
      { name: 'van-chan', select: { kind: 'rest' }, maxInFlight: 2 },
    ],
    abort: { maxFailureRate: 0.5, minDevices: 3 },
    silentTimeoutMin: 30,
    windows: [],
    utcOffsetMin: 420,
    meetingLeadMin: 30,
  });
  t.equal(res.status, 201);
  type View = { state: string; rings: { succeeded: number; failed: number; pending: number; inFlight: number }[] };
  let v: View | undefined;
  for (let i = 0; i < 20; i++) {
    await f.ota.rollouts.tick();
    v = (await f.api<View>('GET', `/api/v1/rollouts/${res.body.id}`)).body;
    if (v.rings[1]!.pending === 1 && v.rings[1]!.inFlight === 0) break;
  }
  t.same(
    v!.rings.map((r) => [r.succeeded, r.failed, r.pending, r.inFlight]),
    [
      [1, 0, 0, 0],
      [3, 1, 1, 0],
    ],
    'pilot then the rest; one aborted on balena; the offline one waits',
  );
  const pinned = [...standin.devices.values()].filter((d) => d.is_pinned_on__release === 502).map((d) => d.id);
  t.same(pinned.sort(), [100, 101, 102, 103, 104], 'every online device pinned to balena release 1.1.0');
  t.same(standin.reboots.sort(), [100, 101, 102, 103, 104], 'and rebooted through the supervisor API');
  t.notOk(
    [...standin.devices.values()].find((d) => d.id === 105)!.is_pinned_on__release,
    'the offline device was not touched',
  );
  t.ok(
    standin.log.some((l) => l.startsWith('PATCH /v7/device')),
    'pinning went through the sdk',
  );
  t.equal(v!.state, 'running', 'still running: the offline device may come back');

  standin.devices.get([...standin.devices.values()].find((d) => d.id === 105)!.uuid)!.is_connected_to_vpn = true;
  for (let i = 0; i < 10 && v!.state !== 'completed'; i++) {
    await f.ota.rollouts.tick();
    v = (await f.api<View>('GET', `/api/v1/rollouts/${res.body.id}`)).body;
  }
  t.equal(v!.state, 'completed', 'completed once the last device came online and updated');
});

t.test('the balena driver without its fleet and key: the fleet does not start, and says what is missing', async (t) => {
  await t.rejects(startOtaFleet(t, { config: { driver: 'balena' } }), {
    code: 'FLEET_ERR_CONFIG',
    message: /DIEMCAU_OTA_BALENA_FLEET is not set; DIEMCAU_OTA_BALENA_TOKEN_FILE is not set/,
  });
});

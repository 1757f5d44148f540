// A box that lacks the Debian libraries a release's worker links refuses it
// (APPL_ERR_OTA_REQUIREMENTS, with the unmet list); the fleet keeps the
// reason: GET /devices/{id}/ota returns it as the box sent it, and the
// rollout counts the box as skipped with the reason, not as a failed update
// that would abort the rollout. Real fleet (API, broker, SQLite); the box's
// report is the one its updater sends (appliance/test/ota/requirements-box.test.ts).
import t from 'tap';
import { deviceTopic, desiredWithReleaseCodec, type OtaStatus } from '@diemcau/shared';
import { waitFor } from '../helpers/fleet.js';
import { connectDevice } from '../helpers/fleet.js';
import { publishRelease, startOtaFleet } from './harness.js';

const f = await startOtaFleet(t);

await t.test('a refusal for missing libraries: the reason on the device and in the rollout', async (t) => {
  await publishRelease(f, '2.0.0', undefined, {
    requires: {
      arch: 'x64',
      nodeAbi: '115',
      debian: [
        { package: 'libssl3', minVersion: '3.0.0' },
        { package: 'libsrtp2-1', minVersion: '2.5.0' },
      ],
    },
  });
  const site = f.fleet.sites.all().find((s) => s.parentId !== null)!.id;
  const creds = await f.enrol(site);
  const client = await connectDevice(t, creds);
  const heard: string[] = [];
  client.on('message', (_topic, payload) => {
    const d = desiredWithReleaseCodec.decode(payload);
    if (d.ok && d.value.release) heard.push(`${d.value.release.version} ${d.value.release.rolloutId ?? ''}`);
  });
  await client.subscribeAsync(deviceTopic(creds.deviceId, 'desired'), { qos: 1 });
  const created = await f.api<{ id: string }>('POST', '/api/v1/rollouts', {
    release: '2.0.0',
    rings: [{ name: 'one', select: { kind: 'sites', siteIds: [site] }, maxInFlight: 1 }],
    // One failure would abort: the refusal must not count as one.
    abort: { maxFailureRate: 0, minDevices: 1 },
    silentTimeoutMin: 30,
    windows: [],
    utcOffsetMin: 420,
    meetingLeadMin: 0,
  });
  t.equal(created.status, 201);
  await waitFor(
    async () => {
      await f.ota.rollouts.tick();
      return heard.length > 0 ? true : undefined;
    },
    10_000,
    'release dispatched',
  );
  const unmet = [{ kind: 'debian', name: 'libsrtp2-1', need: '2.5.0', have: null }] as const;
  const status: OtaStatus = {
    v: 1,
    at: new Date().toISOString(),
    state: 'failed',
    current: '0.1.0',
    target: '2.0.0',
    rolloutId: created.body.id,
    error: {
      code: 'APPL_ERR_OTA_REQUIREMENTS',
      message: 'release 2.0.0 needs what this box lacks: libsrtp2-1 not installed',
      unmet: [...unmet],
    },
  };
  await client.publishAsync(deviceTopic(creds.deviceId, 'ota'), JSON.stringify(status), { qos: 1 });

  const ota = await waitFor(
    async () => {
      const r = await f.api<OtaStatus>('GET', `/api/v1/devices/${creds.deviceId}/ota`);
      return r.status === 200 && r.body.state === 'failed' ? r.body : undefined;
    },
    10_000,
    'status stored',
  );
  t.match(ota, {
    state: 'failed',
    target: '2.0.0',
    error: { code: 'APPL_ERR_OTA_REQUIREMENTS', message: /libsrtp2-1 not installed/ },
  });
  t.same(ota.error?.unmet, unmet, 'the unmet list reaches the API');

  const v = await waitFor(
    async () => {
      await f.ota.rollouts.tick();
      const r = (
        await f.api<{
          state: string;
          devices: { state: string; reason: string }[];
          rings: { skipped: number; failed: number }[];
        }>('GET', `/api/v1/rollouts/${created.body.id}?devices=true`)
      ).body;
      return r.state !== 'running' ? r : undefined;
    },
    10_000,
    'rollout settled',
  );
  t.equal(v.state, 'completed', 'not aborted by the refusal');
  t.match(
    v.devices[0],
    { state: 'skipped', reason: /APPL_ERR_OTA_REQUIREMENTS.*libsrtp2-1 not installed/ },
    "the box's reason kept",
  );
  t.match(v.rings[0], { skipped: 1, failed: 0 });
});

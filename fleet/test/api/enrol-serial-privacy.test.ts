import t from 'tap';
import { deviceTopic, type SelfTestResult } from '@diemcau/shared';
import { ADMIN_TOKEN, connectDevice, selfTest, startTestFleet, waitFor } from '../helpers/fleet.js';
import { readEvents } from '../helpers/events.js';
import { operator } from '../helpers/enrol.js';

// A hardware serial is what a pre-registration is keyed on: viewers never get
// one, in any answer or on the live feed. Admins and district operators do.

const SITE = 'yb-city-phuong-dong-tam';
const SERIAL = 'SN-PRIVATE-7731';

const selfTestWithHost = (): SelfTestResult => ({
  ...selfTest(),
  host: {
    manufacturer: 'Sim',
    model: 'Box',
    serial: SERIAL,
    uuid: 'u-1',
    os: 'Debian 12',
    kernel: '6.1',
    arch: 'x64',
    hostname: 'box',
  },
});

t.test('viewers get no serial from the API or the live feed; operators do', async (t) => {
  const { api, enrol, fleet } = await startTestFleet(t);
  const viewer = await operator(api, 'viewer');
  const district = await operator(api, 'district-operator', 'yb-city');
  const base = `http://127.0.0.1:${fleet.httpPort}`;
  const viewerFeed = readEvents(base, viewer);
  const adminFeed = readEvents(base, ADMIN_TOKEN);
  t.teardown(async () => {
    await viewerFeed.stop();
    await adminFeed.stop();
  });

  await waitFor(
    () => viewerFeed.events.some((e) => e.type === 'hello') && adminFeed.events.some((e) => e.type === 'hello'),
    10_000,
    'both feeds open',
  );
  t.equal(
    (await api('POST', '/api/v1/preregistrations', { body: { serial: 'SN-WAITING-1', siteId: SITE } })).status,
    201,
  );
  const creds = await enrol(SITE, { serial: SERIAL });
  const client = await connectDevice(t, creds);
  await client.publishAsync(deviceTopic(creds.deviceId, 'health'), JSON.stringify(selfTestWithHost()), { qos: 1 });
  const asAdmin = await waitFor(
    async () => {
      const r = await api<{ items: { result: SelfTestResult }[] }>(
        'GET',
        `/api/v1/devices/${creds.deviceId}/self-tests`,
      );
      return r.body.items.length === 1 ? r.body.items : undefined;
    },
    10_000,
    'the self-test stored',
  );
  t.equal(asAdmin[0]!.result.host?.serial, SERIAL, 'an admin sees the host serial');

  // Every answer a viewer can get about this box, as raw text: the serial is in none.
  const urls = [
    '/api/v1/devices',
    `/api/v1/devices?siteId=${SITE}`,
    `/api/v1/devices/${creds.deviceId}`,
    `/api/v1/devices/${creds.deviceId}/self-tests`,
  ];
  for (const url of urls) {
    const res = await fleet.http.inject({ method: 'GET', url, headers: { authorization: `Bearer ${viewer}` } });
    t.equal(res.statusCode, 200, url);
    t.notMatch(res.body, /SN-PRIVATE|SN-WAITING/, `${url}: no serial for a viewer`);
    const asOp = await fleet.http.inject({ method: 'GET', url, headers: { authorization: `Bearer ${district}` } });
    t.match(asOp.body, SERIAL, `${url}: the district's operator sees it`);
  }
  const detail = await api<{ serial: string | null; id: string }>('GET', `/api/v1/devices/${creds.deviceId}`, {
    token: viewer,
  });
  t.equal(detail.body.serial, null, 'the field is there, empty');
  t.equal(detail.body.id, creds.deviceId, 'the rest of the answer is intact');
  t.equal(
    (await api('GET', '/api/v1/preregistrations', { token: viewer })).status,
    403,
    'the pre-registration list is serials: not for viewers',
  );
  t.equal(
    (await api('GET', '/api/v1/audit', { token: viewer })).status,
    403,
    'the audit log (it names serials) is not for viewers',
  );
  const audit = await api<{ items: { details: { serial?: string } }[] }>(
    'GET',
    `/api/v1/audit?target=device:${creds.deviceId}`,
  );
  t.equal(audit.body.items[0]?.details.serial, SERIAL, 'an admin reads the enrolment, serial included');

  // The live feed: the viewer got the enrolment and the birth, and no serial.
  await waitFor(
    () => viewerFeed.events.some((e) => e.type === 'birth' && e.deviceId === creds.deviceId),
    10_000,
    'the birth on the viewer feed',
  );
  await waitFor(
    () => adminFeed.events.some((e) => e.type === 'birth' && e.deviceId === creds.deviceId),
    10_000,
    'the birth on the admin feed',
  );
  t.ok(
    viewerFeed.events.some((e) => e.type === 'enrolled' && e.deviceId === creds.deviceId),
    'the enrolment reached the viewer',
  );
  t.notMatch(JSON.stringify(viewerFeed.events), /SN-PRIVATE|SN-WAITING/);

  // An alert that names the box's serial in its details (none does today; a later rule might):
  // the admin's feed carries it, the viewer's carries the alert without it.
  await fleet.alerts.open({
    type: 'test-hardware-swap',
    key: `test-swap:${creds.deviceId}`,
    siteId: SITE,
    deviceId: creds.deviceId,
    details: { serial: SERIAL, was: 'serial:SN-OLD-1' },
  });
  const seen = (feed: typeof viewerFeed) =>
    feed.events.find((e) => e.type === 'alert' && e.alert.type === 'test-hardware-swap');
  const forAdmin = await waitFor(() => seen(adminFeed), 10_000, 'the alert on the admin feed');
  const forViewer = await waitFor(() => seen(viewerFeed), 10_000, 'the alert on the viewer feed');
  t.match(forAdmin, { alert: { details: { serial: SERIAL, was: 'serial:SN-OLD-1' } } });
  t.match(forViewer, { alert: { deviceId: creds.deviceId, details: { serial: null, was: 'serial:(hidden)' } } });
  const alerts = await api<{ items: { type: string; details: unknown }[] }>('GET', '/api/v1/alerts?state=open', {
    token: viewer,
  });
  t.match(
    alerts.body.items.find((a) => a.type === 'test-hardware-swap'),
    { details: { serial: null } },
    'and so does the alerts list',
  );
});

t.test('the viewer filter keeps every other field and masks serial audit targets', async (t) => {
  const { withoutSerials } = await import('../../src/api/serial-privacy.js');
  const input = {
    items: [
      {
        id: 'a',
        serial: 'X',
        nested: { host: { serial: 'Y', os: 'deb' } },
        target: 'serial:X',
        list: ['serial:Z', 'ok'],
      },
    ],
    n: 1,
  };
  t.same(withoutSerials(input), {
    items: [
      {
        id: 'a',
        serial: null,
        nested: { host: { serial: null, os: 'deb' } },
        target: 'serial:(hidden)',
        list: ['serial:(hidden)', 'ok'],
      },
    ],
    n: 1,
  });
  t.same(input.items[0]!.serial, 'X', 'the original is untouched');
});

// The meetings area inside the real fleet (buildFleet): bearer-token auth,
// boxes enrolled over HTTP and logged in over MQTT, commands refusing a
// reboot during the meeting, OpenAPI.
import t from 'tap';
import { deviceTopic, type Site } from '@diemcau/shared';
import { connectDevice, presence, startTestFleet } from '../helpers/fleet.js';
import { planWhere } from '../helpers/plans.js';

t.test('a district meeting in the running fleet', async (t) => {
  const f = await startTestFleet(t);
  const sites = (await f.api<{ items: Site[] }>('GET', '/api/v1/sites')).body.items;
  t.equal(sites.length, 210, 'the seeds');
  const district = sites.find((s) => s.kind === 'district')!;
  const communes = sites.filter((s) => s.parentId === district.id);
  // The district also has a spare box that runs no media edge: the meeting must
  // be hosted on the one that does, although plain "lowest id" would pick the spare.
  const [spareBox, districtBox] = [await f.enrol(district.id), await f.enrol(district.id)].sort((a, b) =>
    a.deviceId < b.deviceId ? -1 : 1,
  ) as [Awaited<ReturnType<typeof f.enrol>>, Awaited<ReturnType<typeof f.enrol>>];
  await connectDevice(t, spareBox);
  const communeBox = await f.enrol(communes[0]!.id);

  const dClient = await connectDevice(t, districtBox);
  await dClient.publishAsync(
    deviceTopic(districtBox.deviceId, 'presence'),
    presence('online', { mediaUrl: 'http://10.20.0.1:4443' }),
    { qos: 1, retain: true },
  );
  const cClient = await connectDevice(t, communeBox);

  t.equal(
    (
      await f.api('POST', '/api/v1/meetings', {
        body: { title: 'x', chairSiteId: district.id, siteIds: [] },
        token: null,
      })
    ).status,
    401,
  );

  const created = await f.api<{
    id: string;
    cascade: { hostEdgeId: string; coreLinks: number; unreachableSiteIds: string[] };
  }>('POST', '/api/v1/meetings', {
    body: { title: 'Giao ban huyện', chairSiteId: district.id, siteIds: communes.map((c) => c.id) },
  });
  t.equal(created.status, 201);
  t.equal(created.body.cascade.hostEdgeId, districtBox.deviceId);
  t.equal(created.body.cascade.coreLinks, 0);
  t.equal(created.body.cascade.unreachableSiteIds.length, communes.length - 1, 'communes without a box yet');

  const plan = await planWhere(cClient, communeBox.deviceId, (p) => p.meetings.length === 1);
  const hostPlan = await planWhere(dClient, districtBox.deviceId, (p) => p.meetings.length === 1);
  t.match(plan.meetings[0], {
    meetingId: created.body.id,
    role: 'leaf',
    upstream: { edgeId: districtBox.deviceId, signalUrl: 'http://10.20.0.1:4443' },
  });
  t.match(hostPlan.meetings[0], { role: 'host', upstream: null, localSiteId: district.id });
  t.equal(plan.meetings[0]!.upstream!.linkToken, hostPlan.meetings[0]!.acceptToken);

  const metrics = (await f.api<string>('GET', '/metrics')).body;
  t.match(metrics, /^diemcau_meetings_live 1$/m);
  t.match(metrics, /^diemcau_meeting_plans_published_total [1-9]/m);

  // The commands area asks the meetings area before a reboot.
  const refused = await f.api<{ code: string }>('POST', `/api/v1/devices/${communeBox.deviceId}/commands`, {
    body: { type: 'reboot' },
  });
  t.equal(refused.status, 409);
  t.equal(refused.body.code, 'FLEET_ERR_SITE_IN_MEETING');

  const ended = await f.api<{ state: string }>('POST', `/api/v1/meetings/${created.body.id}/end`, { body: {} });
  t.equal(ended.body.state, 'ended');
  await planWhere(cClient, communeBox.deviceId, (p) => p.meetings.length === 0);
  const allowed = await f.api('POST', `/api/v1/devices/${communeBox.deviceId}/commands`, { body: { type: 'reboot' } });
  t.equal(allowed.status, 202, 'free again once the meeting ended');

  const openapi = await f.fleet.http.inject({ method: 'GET', url: '/docs/json' });
  const paths = Object.keys((openapi.json() as { paths: Record<string, unknown> }).paths);
  t.ok(paths.includes('/api/v1/meetings/{id}/roll-call'), 'meetings are in the OpenAPI document');
});

// An area operator sees the rollouts over its own sites (or the whole
// province), and of their devices only its own: another area's rollout, its
// device ids and states are not its business (SECURITY.md).
import t from 'tap';
import { publishRelease, startOtaFleet } from './harness.js';

const f = await startOtaFleet(t);

await t.test("an area operator reads neither another area's rollout nor another area's devices", async (t) => {
  await publishRelease(f, '2.0.0');
  const mine = 'yb-tram-tau-ban-cong';
  const theirs = 'yb-luc-yen';
  const theirSite = f.fleet.sites.all().find((s) => s.parentId === theirs)!.id;
  await f.enrol(mine);
  await f.enrol(theirSite);
  const spec = (rootSiteId?: string) => ({
    release: '2.0.0',
    ...(rootSiteId ? { rootSiteId } : {}),
    rings: [{ name: 'all', select: { kind: 'rest' }, maxInFlight: 10 }],
    abort: { maxFailureRate: 1, minDevices: 100 },
    silentTimeoutMin: 30,
    windows: [],
    utcOffsetMin: 420,
    meetingLeadMin: 0,
  });
  const other = await f.api<{ id: string }>('POST', '/api/v1/rollouts', spec(theirs));
  t.equal(other.status, 201, other.status === 201 ? 'a rollout over another area' : JSON.stringify(other.body));
  await f.api('POST', `/api/v1/rollouts/${other.body.id}/abort`, { reason: 'test' });
  const province = await f.api<{ id: string }>('POST', '/api/v1/rollouts', spec());
  t.equal(province.status, 201, 'and one over the whole province');

  const op = await f.api<{ token: string }>('POST', '/api/v1/operators', {
    name: 'Trạm Tấu',
    role: 'district-operator',
    districtId: 'yb-tram-tau',
  });
  const as = { authorization: `Bearer ${op.body.token}` };
  const list = await f.api<{ items: { id: string }[] }>('GET', '/api/v1/rollouts', undefined, as);
  t.same(
    list.body.items.map((r) => r.id),
    [province.body.id],
    "the other area's rollout is not listed",
  );
  t.equal(
    (await f.api('GET', `/api/v1/rollouts/${other.body.id}?devices=true`, undefined, as)).status,
    404,
    'nor readable',
  );
  const seen = await f.api<{ devices: { siteId: string }[] }>(
    'GET',
    `/api/v1/rollouts/${province.body.id}?devices=true`,
    undefined,
    as,
  );
  t.equal(seen.status, 200);
  t.ok(
    seen.body.devices.length > 0 && seen.body.devices.every((d) => d.siteId === mine),
    'of the province-wide one, only its own devices',
  );
  const admin = await f.api<{ devices: { siteId: string }[] }>(
    'GET',
    `/api/v1/rollouts/${province.body.id}?devices=true`,
  );
  t.ok(
    admin.body.devices.some((d) => d.siteId === theirSite),
    'an admin sees every device',
  );
});

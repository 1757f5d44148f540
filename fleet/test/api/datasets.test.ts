// Both shipped datasets through the API of a real fleet: the sites and their
// kinds, operators scoped to a subtree or a relay group, a large meeting's
// cascade (one copy per relay group on the core's link) and a relay group's
// outage as one incident at its hub.
import t from 'tap';
import { connectDevice, startTestFleet, waitFor, type TestFleet } from '../helpers/fleet.js';
import { loadDataset } from '../../src/seeds/datasets.js';

interface SiteBody {
  id: string;
  name: string;
  kind: string;
  parentId: string | null;
}
interface GroupBody {
  id: string;
  name: string;
  hubSiteId: string;
  siteIds: string[];
}
interface HierarchyBody {
  dataset: string;
  kinds: { id: string; label: { vi: string; en: string } }[];
  relayGroups: GroupBody[];
}

async function operator(f: TestFleet, body: Record<string, unknown>): Promise<string> {
  const r = await f.api<{ token: string; role: string }>('POST', '/api/v1/operators', {
    body: { name: 'op', ...body },
  });
  if (r.status !== 201) throw new Error(`operator: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.token;
}

const siteIdsFor = async (f: TestFleet, token: string): Promise<string[]> =>
  (await f.api<{ items: SiteBody[] }>('GET', '/api/v1/sites', { token })).body.items.map((s) => s.id).sort();

t.test('yen-bai-2022: four levels, districts as relay groups, the district operator as an area operator', async (t) => {
  const f = await startTestFleet(t, { dataset: 'yen-bai-2022' });
  const sites = (await f.api<{ items: SiteBody[] }>('GET', '/api/v1/sites')).body.items;
  t.equal(sites.length, 210);
  t.equal(sites.filter((s) => s.kind === 'district').length, 9);
  const h = (await f.api<HierarchyBody>('GET', '/api/v1/hierarchy')).body;
  t.equal(h.dataset, 'yen-bai-2022');
  t.match(
    h.kinds.find((k) => k.id === 'commune'),
    { label: { vi: 'Xã, phường, thị trấn', en: 'Commune' } },
  );
  t.equal(h.relayGroups.length, 9);

  // The old role name and field still work, and are answered in the new terms.
  const created = await f.api<{ role: string; area: unknown; districtId: string }>('POST', '/api/v1/operators', {
    body: { name: 'MCC', role: 'district-operator', districtId: 'yb-mu-cang-chai' },
  });
  t.match(created.body, {
    role: 'area-operator',
    area: { kind: 'subtree', siteId: 'yb-mu-cang-chai' },
    districtId: 'yb-mu-cang-chai',
  });
  const mine = await siteIdsFor(f, (created.body as unknown as { token: string }).token);
  t.equal(mine.length, 15, 'the district and its 14 communes');
  t.ok(mine.every((id) => id.startsWith('yb-mu-cang-chai')));
});

t.test(
  'yen-bai-two-tier: communes at the top, former district sites kept or retired, hubs from the mapping',
  async (t) => {
    const f = await startTestFleet(t, { dataset: 'yen-bai-two-tier' });
    const sites = (await f.api<{ items: SiteBody[] }>('GET', '/api/v1/sites')).body.items;
    t.equal(sites.length, 208, 'two former district sites retired');
    t.notOk(
      sites.some((s) => s.kind === 'district'),
      'no district kind',
    );
    t.notOk(
      sites.some((s) => s.id === 'yb-nghia-lo' || s.id === 'yb-tram-tau'),
      'retired by the mapping',
    );
    t.ok(
      sites.every((s) => s.parentId === null),
      'two tiers: every site hangs under the province',
    );
    t.equal(sites.find((s) => s.id === 'yb-mu-cang-chai')?.kind, 'area-centre', 'kept as an ordinary site');
    const h = (await f.api<HierarchyBody>('GET', '/api/v1/hierarchy')).body;
    t.equal(h.dataset, 'yen-bai-two-tier');
    t.same(h.kinds.map((k) => k.id).sort(), [
      'area-centre',
      'commune',
      'department',
      'party-board',
      'party-committee',
      'peoples-committee',
      'peoples-council',
    ]);
    t.equal(
      h.relayGroups.find((g) => g.id === 'hub-tram-tau')?.hubSiteId,
      'yb-tram-tau-tt-tram-tau',
      'a retired centre: the township box relays',
    );

    // An operator over a relay group sees exactly the sites behind that hub.
    const hubOp = await operator(f, {
      role: 'area-operator',
      area: { kind: 'relay-group', groupId: 'hub-mu-cang-chai' },
    });
    const mine = await siteIdsFor(f, hubOp);
    t.same(
      mine,
      h.relayGroups
        .find((g) => g.id === 'hub-mu-cang-chai')!
        .siteIds.slice()
        .sort(),
    );
    t.equal(mine.length, 15);
    t.equal((await f.api('GET', '/api/v1/sites/yb-city', { token: hubOp })).status, 403, 'a site behind another hub');
    const scopedHierarchy = (await f.api<HierarchyBody>('GET', '/api/v1/hierarchy', { token: hubOp })).body;
    t.same(
      scopedHierarchy.relayGroups.map((g) => g.id),
      ['hub-mu-cang-chai'],
      'only its own relay group',
    );
    // Any site roots an area, whatever its kind: here one commune.
    const communeOp = await operator(f, {
      role: 'area-operator',
      area: { kind: 'subtree', siteId: 'yb-van-yen-an-binh' },
    });
    t.same(await siteIdsFor(f, communeOp), ['yb-van-yen-an-binh']);

    // Fail closed, and refused at the door.
    t.equal(
      (await f.api('POST', '/api/v1/operators', { body: { name: 'x', role: 'area-operator' } })).status,
      400,
      'an area operator needs an area',
    );
    t.equal(
      (
        await f.api('POST', '/api/v1/operators', {
          body: { name: 'x', role: 'area-operator', area: { kind: 'relay-group', groupId: 'hub-nowhere' } },
        })
      ).status,
      400,
    );
    t.equal(
      (
        await f.api('POST', '/api/v1/operators', {
          body: { name: 'x', role: 'viewer', area: { kind: 'subtree', siteId: 'yb-city' } },
        })
      ).status,
      400,
    );

    // The site import takes the dataset's kinds, and refuses one it does not declare.
    const imp = await f.api('POST', '/api/v1/sites/import', {
      body: { sites: [{ id: 'yb-new-ward', name: 'Phường Mới', kind: 'commune', parentId: null }] },
    });
    t.equal(imp.status, 200);
    const bad = await f.api<{ message: string }>('POST', '/api/v1/sites/import', {
      body: { sites: [{ id: 'yb-x', name: 'X', kind: 'district', parentId: null }] },
    });
    t.equal(bad.status, 400);
    t.match(bad.body.message, /unknown kind district/);
  },
);

for (const dataset of ['yen-bai-2022', 'yen-bai-two-tier']) {
  t.test(`${dataset}: a 100-commune meeting carries one copy per relay group on the core's link`, async (t) => {
    const f = await startTestFleet(t, { dataset });
    const d = loadDataset(dataset);
    const groups = d.relayGroups!;
    const groupOf = new Map(groups.flatMap((g) => g.siteIds.map((id) => [id, g] as const)));
    // 100 communes from every group, round robin, and a box on each and on every hub.
    const communes = d.sites.filter((s) => s.kind === 'commune' && !groups.some((g) => g.hubSiteId === s.id));
    const byGroup = groups.map((g) => communes.filter((c) => groupOf.get(c.id) === g).map((c) => c.id));
    const picked: string[] = [];
    for (let i = 0; picked.length < 100; i++)
      for (const list of byGroup) if (list[i] !== undefined && picked.length < 100) picked.push(list[i]!);
    for (const id of [...picked, ...groups.map((g) => g.hubSiteId)]) await f.enrol(id);
    const chair = 'yb-peoples-committee';
    await f.enrol(chair);

    const created = await f.api<{
      cascade: {
        hostEdgeId: string;
        coreLinks: number;
        unreachableSiteIds: string[];
        edges: { edgeId: string; role: string }[];
      };
    }>('POST', '/api/v1/meetings', { body: { title: 'Giao ban', chairSiteId: chair, siteIds: picked } });
    t.equal(created.status, 201);
    const c = created.body.cascade;
    t.same(c.unreachableSiteIds, []);
    const groupsWithParticipants = new Set(picked.map((id) => groupOf.get(id)!.id));
    t.equal(groupsWithParticipants.size, 9);
    // The chair's box is a direct site (in no group): one more link on the core.
    t.equal(c.coreLinks, groupsWithParticipants.size + 1, `${c.coreLinks} links on the core for 101 sites`);
    t.equal(c.edges.filter((e) => e.role === 'relay').length, 9, 'every hub relays');
  });

  t.test(`${dataset}: a relay group's uplink dropping is one incident at its hub`, async (t) => {
    const f = await startTestFleet(t, { dataset });
    const d = loadDataset(dataset);
    const group = d.relayGroups!.find((g) => g.siteIds.includes('yb-mu-cang-chai-cao-pha'))!;
    const members = group.siteIds.filter((id) => id !== group.hubSiteId).slice(0, 5);
    const boxes = [];
    for (const site of members) {
      const creds = await f.enrol(site);
      boxes.push({ creds, client: await connectDevice(t, creds) });
    }
    const listed = await f.api<{ items: { siteId: string }[] }>('GET', `/api/v1/devices?relayGroup=${group.id}`);
    t.same(listed.body.items.map((d) => d.siteId).sort(), [...members].sort(), 'the devices behind the hub');
    t.equal((await f.api('GET', '/api/v1/devices?relayGroup=hub-nowhere')).status, 400);
    for (const b of boxes.slice(0, 4)) b.client.stream.destroy();
    const incident = await waitFor(
      async () => {
        const r = await f.api<{
          items: { type: string; siteId: string; details: Record<string, unknown> & { devices: string[] } }[];
        }>('GET', '/api/v1/alerts?state=open');
        const i = r.body.items.find((a) => a.type === 'district-outage');
        return i && i.details.devices.length === 4 ? i : undefined;
      },
      8000,
      'outage incident with 4 devices',
    );
    t.equal(incident.siteId, group.hubSiteId, 'raised at the hub whose uplink is most likely down');
    t.match(incident.details, {
      relayGroup: group.name,
      hubSiteId: group.hubSiteId,
      sitesBehind: group.siteIds.length - 1,
    });
    t.equal(group.siteIds.length - 1, 14, 'the Mù Cang Chải hub has 14 sites behind it');
  });
}

t.test(
  'a registry keeps the hierarchy it was seeded with; one from before datasets gets its kinds at start',
  async (t) => {
    const first = await startTestFleet({ teardown: () => undefined }, { dataset: 'yen-bai-two-tier' });
    const op = await operator(first, { role: 'area-operator', area: { kind: 'relay-group', groupId: 'hub-tram-tau' } });
    // A registry written before the hierarchy table: the row is not there.
    await first.fleet.db.exec('DELETE FROM hierarchy');
    await first.fleet.close();

    // Restarted: the sites stay (the operator's import owns them) and the configured dataset's
    // kinds and relay groups, which fit them, are recorded.
    const again = await startTestFleet(t, { dataset: 'yen-bai-two-tier' }, first.dataDir);
    const h = (await again.api<HierarchyBody>('GET', '/api/v1/hierarchy')).body;
    t.equal(h.dataset, 'yen-bai-two-tier');
    t.equal(h.relayGroups.length, 9);
    t.equal(
      (await siteIdsFor(again, op)).length,
      loadDataset('yen-bai-two-tier').relayGroups!.find((g) => g.id === 'hub-tram-tau')!.siteIds.length,
      'the stored operator keeps its area',
    );
    await again.fleet.close();

    const other = await startTestFleet(t, { dataset: 'yen-bai-2022' }, first.dataDir);
    t.equal(
      (await other.api<HierarchyBody>('GET', '/api/v1/hierarchy')).body.dataset,
      'yen-bai-two-tier',
      'not replaced by another dataset',
    );
    t.equal((await other.api<{ items: SiteBody[] }>('GET', '/api/v1/sites')).body.items.length, 208);
  },
);

t.test('relay groups follow the network: an admin moves a hub, the next meeting relays through it', async (t) => {
  const f = await startTestFleet(t, { dataset: 'yen-bai-two-tier' });
  const h = (await f.api<HierarchyBody>('GET', '/api/v1/hierarchy')).body;
  const mcc = h.relayGroups.find((g) => g.id === 'hub-mu-cang-chai')!;
  const [a, b, c] = mcc.siteIds.filter((id) => id !== mcc.hubSiteId);
  for (const id of [mcc.hubSiteId, a!, b!, c!, 'yb-peoples-committee']) await f.enrol(id);
  const meeting = async () => {
    const r = await f.api<{
      id: string;
      cascade: { coreLinks: number; edges: { localSiteId: string | null; role: string }[] };
    }>('POST', '/api/v1/meetings', {
      body: { title: 'x', chairSiteId: 'yb-peoples-committee', siteIds: [a!, b!, c!] },
    });
    if (r.status !== 201) throw new Error(`meeting: ${r.status} ${JSON.stringify(r.body)}`);
    // Ended at once: the sites are free for the next one.
    t.equal((await f.api('POST', `/api/v1/meetings/${r.body.id}/end`)).status, 200);
    return r.body.cascade;
  };
  const before = await meeting();
  t.equal(before.coreLinks, 2, 'the chair, and the hub relaying for three communes');

  // The centre's uplink is replaced by the link at commune a: a becomes the hub.
  const moved = h.relayGroups.map((g) => (g.id === mcc.id ? { ...g, hubSiteId: a! } : g));
  const op = await operator(f, { role: 'viewer' });
  t.equal(
    (await f.api('PUT', '/api/v1/hierarchy/relay-groups', { body: { relayGroups: moved }, token: op })).status,
    403,
    'admins only',
  );
  const bad = moved.map((g) => (g.id === 'hub-tram-tau' ? { ...g, siteIds: [...g.siteIds, b!] } : g));
  const refused = await f.api<{ message: string }>('PUT', '/api/v1/hierarchy/relay-groups', {
    body: { relayGroups: bad },
  });
  t.equal(refused.status, 400);
  t.match(refused.body.message, new RegExp(`site ${b} is in relay groups hub-mu-cang-chai and hub-tram-tau`));
  t.equal((await f.api('PUT', '/api/v1/hierarchy/relay-groups', { body: { relayGroups: moved } })).status, 200);
  const after = await meeting();
  t.equal(after.coreLinks, 2);
  t.equal(after.edges.find((e) => e.localSiteId === a)?.role, 'relay', 'commune a relays for b and c now');
  t.equal(
    after.edges.find((e) => e.localSiteId === mcc.hubSiteId),
    undefined,
    'the old hub is not in the meeting',
  );
});

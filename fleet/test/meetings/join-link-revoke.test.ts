// Revoking join links in the running fleet (buildFleet, real broker, boxes
// over MQTT): the listing (ids, never links) and who sees what in it, who may
// revoke, the audit row, the revoked id reaching the plan of the link's own
// edge only, and a fleet restart that forgets nothing. The chair's monitor
// links are revoked when the same console asks for a new one and when the roll
// call ends. What the edge then does with the list is
// appliance/test/media/join-links.test.ts; the browser's side end to end is
// scripts/test/join-revoke.test.ts.
import t from 'tap';
import { deviceTopic, readJoinClaims, type Site } from '@diemcau/shared';
import { connectDevice, presence, startTestFleet, type TestFleet } from '../helpers/fleet.js';
import { operator } from '../helpers/enrol.js';
import { planWhere } from '../helpers/plans.js';

interface Listed {
  id: string;
  siteId: string;
  role: string;
  state: 'active' | 'expired' | 'revoked';
  issuedBy: string | null;
  revokedAt: string | null;
  revokedBy: string | null;
}

t.test('join links are listed by id and revoked through the plan of their own edge', async (t) => {
  const first = await startTestFleet({ teardown: () => undefined });
  const sites = (await first.api<{ items: Site[] }>('GET', '/api/v1/sites')).body.items;
  const districts = sites.filter((s) => s.kind === 'district');
  const district = districts[0]!;
  const [c1, c2] = sites.filter((s) => s.parentId === district.id) as [Site, Site];
  const boxes = new Map<string, Awaited<ReturnType<TestFleet['enrol']>>>();
  const online = async (f: TestFleet, site: Site, port: number) => {
    const box = boxes.get(site.id) ?? (await f.enrol(site.id));
    boxes.set(site.id, box);
    const creds = { ...box, mqtt: { ...box.mqtt, url: `mqtt://127.0.0.1:${f.fleet.mqttPort}` } };
    const client = await connectDevice(t, creds);
    await client.publishAsync(
      deviceTopic(box.deviceId, 'presence'),
      presence('online', { mediaUrl: `https://127.0.0.1:${port}` }),
      { qos: 1, retain: true },
    );
    return client;
  };
  const dClient = await online(first, district, 7443);
  const c1Client = await online(first, c1, 7444);
  await online(first, c2, 7445);

  const created = await first.api<{ id: string }>('POST', '/api/v1/meetings', {
    body: { title: 'Giao ban', chairSiteId: district.id, siteIds: [c1.id, c2.id], durationMin: 60 },
  });
  t.equal(created.status, 201);
  const M = created.body.id;
  const own = await operator(first.api, 'district-operator', district.id);
  const other = await operator(first.api, 'district-operator', districts[1]!.id);
  const viewer = await operator(first.api, 'viewer');
  const issue = async (siteId: string, token?: string) => {
    const r = await first.api<{ id: string; link: string }>('POST', `/api/v1/meetings/${M}/join-links`, {
      body: { siteId },
      ...(token ? { token } : {}),
    });
    t.equal(r.status, 201);
    t.equal(r.body.id, readJoinClaims(r.body.link)!.jti, 'the answer names the link by its id');
    return r.body;
  };
  const a = await issue(c1.id);
  const b = await issue(c1.id, own);
  const c = await issue(c2.id);

  const list = async (f: TestFleet, token?: string) =>
    f.api<{ items: Listed[] }>('GET', `/api/v1/meetings/${M}/join-links`, token ? { token } : {});
  const all = await list(first);
  t.equal(all.status, 200);
  t.same(all.body.items.map((l) => l.id).sort(), [a.id, b.id, c.id].sort(), 'every link, by id');
  t.ok(
    all.body.items.every((l) => l.state === 'active' && l.revokedAt === null),
    'all active',
  );
  for (const l of [a, b, c]) t.notOk(JSON.stringify(all.body).includes(l.link), 'never the link itself');
  t.equal((await list(first, own)).body.items.length, 3, "the district's operator sees its sites' links");
  t.equal((await list(first, other)).status, 404, "another district's operator does not see the meeting");
  t.equal((await list(first, viewer)).status, 403, 'a viewer, who issues none, is refused');

  const revoke = (f: TestFleet, id: string, token?: string) =>
    f.api<Listed & { code?: string }>('DELETE', `/api/v1/meetings/${M}/join-links/${id}`, token ? { token } : {});
  t.equal((await revoke(first, a.id, viewer)).status, 403, 'a viewer may not revoke');
  t.equal((await revoke(first, a.id, other)).status, 404, "nor another district's operator");
  t.equal((await revoke(first, 'no-such-link-id', own)).status, 404, 'an unknown id: 404');
  t.equal((await revoke(first, 'bad id!', own)).status, 400, 'a malformed id: 400');
  const revoked = await revoke(first, a.id, own);
  t.equal(revoked.status, 200);
  t.match(revoked.body, { id: a.id, state: 'revoked', siteId: c1.id });
  t.ok(revoked.body.revokedBy, 'who revoked it is kept');
  t.equal((await revoke(first, a.id)).body.state, 'revoked', 'revoking again changes nothing');

  // The id reaches the plan of the commune's own edge, and no other edge's.
  const plan = await planWhere(c1Client, boxes.get(c1.id)!.deviceId, (p) =>
    (p.meetings[0]?.revokedLinks ?? []).includes(a.id),
  );
  t.same(plan.meetings[0]!.revokedLinks, [a.id], 'only the revoked one');
  const chairPlan = await planWhere(dClient, boxes.get(district.id)!.deviceId, (p) => p.meetings.length === 1);
  t.equal(chairPlan.meetings[0]!.revokedLinks, undefined, "the chair's edge is told nothing of the commune's links");

  const audit = await first.api<{ items: Array<{ action: string; details?: { jti?: string } }> }>(
    'GET',
    '/api/v1/audit',
  );
  const row = audit.body.items.find((e) => e.action === 'DELETE /api/v1/meetings/:id/join-links/:linkId');
  t.equal(row?.details?.jti, a.id, 'the revocation is audited by id');

  // A restart (same registry) forgets no revocation: the list and the plan say so again.
  await first.fleet.close();
  const second = await startTestFleet(t, {}, first.dataDir);
  const after = await list(second);
  t.same(
    after.body.items.filter((l) => l.state === 'revoked').map((l) => l.id),
    [a.id],
    'still revoked after a restart',
  );
  const c1Again = await online(second, c1, 7444);
  const replanned = await planWhere(c1Again, boxes.get(c1.id)!.deviceId, (p) => p.meetings.length === 1);
  t.same(replanned.meetings[0]!.revokedLinks, [a.id], 'and the plan still carries it');

  t.equal((await second.api('POST', `/api/v1/meetings/${M}/end`)).status, 200);
  t.same(
    (await list(second)).body.items.map((l) => l.state).sort(),
    ['expired', 'expired', 'revoked'],
    'the meeting ended early: its links are listed as expired with it',
  );
});

t.test("the chair's monitor links: revoked when the console asks again and when the roll call ends", async (t) => {
  const f = await startTestFleet(t);
  const sites = (await f.api<{ items: Site[] }>('GET', '/api/v1/sites')).body.items;
  const district = sites.find((s) => s.kind === 'district')!;
  const commune = sites.find((s) => s.parentId === district.id)!;
  const dBox = await f.enrol(district.id);
  const dClient = await connectDevice(t, dBox);
  await dClient.publishAsync(
    deviceTopic(dBox.deviceId, 'presence'),
    presence('online', { mediaUrl: 'https://127.0.0.1:7443' }),
    {
      qos: 1,
      retain: true,
    },
  );
  const created = await f.api<{ id: string }>('POST', '/api/v1/meetings', {
    body: { title: 'Điểm danh', chairSiteId: district.id, siteIds: [commune.id], durationMin: 60 },
  });
  const M = created.body.id;
  t.equal((await f.api('POST', `/api/v1/meetings/${M}/roll-call`, { body: { siteId: commune.id } })).status, 200);
  const province = await operator(f.api, 'admin');
  const picture = async (token?: string) => {
    const r = await f.api<{ id: string }>('POST', `/api/v1/meetings/${M}/roll-call/picture`, token ? { token } : {});
    t.equal(r.status, 201);
    return r.body.id;
  };
  const first = await picture();
  const others = await picture(province);
  const second = await picture();
  const states = async () =>
    new Map(
      (await f.api<{ items: Listed[] }>('GET', `/api/v1/meetings/${M}/join-links`)).body.items.map((l) => [
        l.id,
        l.state,
      ]),
    );
  let now = await states();
  t.equal(now.get(first), 'revoked', "the console's previous link is revoked when it asks again");
  t.equal(now.get(second), 'active', 'its new one opens');
  t.equal(now.get(others), 'active', "another operator's console keeps its own");
  const plan = await planWhere(dClient, dBox.deviceId, (p) => (p.meetings[0]?.revokedLinks ?? []).includes(first));
  t.same(plan.meetings[0]!.revokedLinks, [first], "the chair's edge is told");

  t.equal((await f.api('POST', `/api/v1/meetings/${M}/roll-call`, { body: { siteId: null } })).status, 200);
  now = await states();
  t.same([now.get(second), now.get(others)], ['revoked', 'revoked'], 'the roll call ended: every monitor link with it');
  const ended = await planWhere(dClient, dBox.deviceId, (p) => (p.meetings[0]?.revokedLinks ?? []).length === 3);
  t.same(ended.meetings[0]!.revokedLinks, [first, others, second].sort());
});

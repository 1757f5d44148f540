// Join links in the running fleet (buildFleet, real broker, boxes over MQTT):
// who may have one, what it says, that the key it verifies with reaches the
// edges in their plans, and a browser participant's request to speak coming
// up in its edge's stats, shown, granted (the plan names the participant) or
// set aside for good.
import t from 'tap';
import { deviceTopic, mediaStatsCodec, readJoinClaims, verifyJoinLink, type Site } from '@diemcau/shared';
import { connectDevice, presence, startTestFleet, waitFor } from '../helpers/fleet.js';
import { operator } from '../helpers/enrol.js';
import { planWhere } from '../helpers/plans.js';

interface Link {
  link: string;
  url: string | null;
  siteId: string;
  role: string;
  expiresAt: string;
  edgeId: string | null;
}

t.test('join links: scope, claims, the key in the plans, and a browser asking to speak', async (t) => {
  const f = await startTestFleet(t);
  const sites = (await f.api<{ items: Site[] }>('GET', '/api/v1/sites')).body.items;
  const districts = sites.filter((s) => s.kind === 'district');
  const district = districts[0]!;
  const commune = sites.find((s) => s.parentId === district.id)!;
  const elsewhere = sites.find((s) => s.parentId === districts[1]!.id)!;
  const dBox = await f.enrol(district.id);
  const cBox = await f.enrol(commune.id);
  const dClient = await connectDevice(t, dBox);
  await dClient.publishAsync(
    deviceTopic(dBox.deviceId, 'presence'),
    presence('online', { mediaUrl: 'https://127.0.0.1:7443' }),
    { qos: 1, retain: true },
  );
  const cClient = await connectDevice(t, cBox);
  await cClient.publishAsync(
    deviceTopic(cBox.deviceId, 'presence'),
    presence('online', { mediaUrl: 'https://127.0.0.1:7444' }),
    { qos: 1, retain: true },
  );

  const created = await f.api<{ id: string; endsAt: string }>('POST', '/api/v1/meetings', {
    body: { title: 'Giao ban', chairSiteId: district.id, siteIds: [commune.id], durationMin: 30 },
  });
  t.equal(created.status, 201);
  const id = created.body.id;
  const ask = (body: unknown, token?: string) =>
    f.api<Link & { code?: string }>('POST', `/api/v1/meetings/${id}/join-links`, {
      body,
      ...(token ? { token } : {}),
    });

  // The key the edges verify with arrives in their plans.
  const cPlan = await planWhere(cClient, cBox.deviceId, (p) => p.meetings.length === 1 && p.joinKey !== undefined);
  const key = cPlan.joinKey!;
  t.match(key, /BEGIN PUBLIC KEY/);

  const issued = await ask({ siteId: commune.id, ttlMin: 600 });
  t.equal(issued.status, 201);
  t.equal(issued.body.edgeId, cBox.deviceId, "the site's box admits it");
  t.equal(issued.body.url, `https://127.0.0.1:7444/media/v1/join?link=${issued.body.link}`, "on the site's edge");
  const checked = verifyJoinLink(issued.body.link, key, Date.now());
  t.ok(checked.ok, 'it verifies with the key in the plan');
  const claims = readJoinClaims(issued.body.link)!;
  t.match(claims, { meetingId: id, siteId: commune.id, role: 'participant' });
  t.ok(claims.exp * 1000 <= Date.parse(created.body.endsAt), 'it never outlives the meeting (asked for 600 min)');
  t.equal(issued.body.expiresAt, new Date(claims.exp * 1000).toISOString());
  const listener = await ask({ siteId: commune.id, role: 'listener', ttlMin: 5 });
  t.equal(readJoinClaims(listener.body.link)?.role, 'listener');
  t.ok(readJoinClaims(listener.body.link)!.exp - claims.iat <= 5 * 60 + 1, 'a shorter life when asked');

  // Scope: a district's operator for its own sites only; viewers never; no token, nothing.
  const own = await operator(f.api, 'district-operator', district.id);
  const other = await operator(f.api, 'district-operator', districts[1]!.id);
  const viewer = await operator(f.api, 'viewer');
  t.equal((await ask({ siteId: commune.id }, own)).status, 201, "the district's operator may");
  t.equal((await ask({ siteId: commune.id }, other)).status, 404, "another district's may not even see the meeting");
  t.equal((await ask({ siteId: commune.id }, viewer)).status, 403, 'a viewer may not');
  t.equal(
    (await f.api('POST', `/api/v1/meetings/${id}/join-links`, { body: { siteId: commune.id }, token: null })).status,
    401,
  );
  const notIn = await ask({ siteId: elsewhere.id });
  t.equal(notIn.status, 400, 'a site outside the meeting gets none');
  t.equal((await ask({ siteId: commune.id, ttlMin: 0 })).status, 400);
  const audit = await f.api<{ items: Array<{ action: string; details?: unknown }> }>('GET', '/api/v1/audit');
  t.notOk(JSON.stringify(audit.body).includes(issued.body.link), 'the audit log never holds a link');

  // A browser participant at the commune asks to speak: its edge's stats say so.
  const participantId = `${commune.id}.web1`;
  const stats = (speakRequests: Array<{ participantId: string; at: string }>, localSiteId = commune.id) =>
    mediaStatsCodec.encode({
      v: 1,
      edgeId: cBox.deviceId,
      at: new Date().toISOString(),
      revision: cPlan.revision,
      meetings: [
        { meetingId: id, role: 'leaf', localSiteId, local: [], links: [], activeSpeakerSiteId: null, speakRequests },
      ],
    });
  const at = new Date().toISOString();
  const detail = () =>
    f.api<{ requests: Array<{ siteId: string; source: string; participantId?: string }> }>(
      'GET',
      `/api/v1/meetings/${id}`,
    );
  // An edge claiming another site's room, or a participant of another site, is not taken.
  await cClient.publishAsync(
    deviceTopic(cBox.deviceId, 'media-stats'),
    stats([{ participantId: `${district.id}.web1`, at }]),
    { qos: 1 },
  );
  await cClient.publishAsync(
    deviceTopic(cBox.deviceId, 'media-stats'),
    stats([{ participantId: `${district.id}.web2`, at }], district.id),
    { qos: 1 },
  );
  await cClient.publishAsync(deviceTopic(cBox.deviceId, 'media-stats'), stats([{ participantId, at }]), { qos: 1 });
  const shown = await waitFor(
    async () => {
      const r = (await detail()).body.requests;
      return r.length > 0 ? r : undefined;
    },
    10_000,
    'the request to speak',
  );
  t.same(shown, [{ siteId: commune.id, at, source: 'browser', participantId }], "one request: the commune's browser");

  // Granted: the plans name the participant with the floor.
  t.equal((await f.api('POST', `/api/v1/meetings/${id}/floor`, { body: { siteId: commune.id } })).status, 200);
  const granted = await planWhere(dClient, dBox.deviceId, (p) => p.meetings[0]?.floorParticipantId === participantId);
  t.equal(granted.meetings[0]!.floorSiteId, commune.id, 'with its site');
  t.same((await detail()).body.requests, [], 'the request is answered');
  // The edge still reports the hand until it sees the plan: it does not come back.
  await cClient.publishAsync(deviceTopic(cBox.deviceId, 'media-stats'), stats([{ participantId, at }]), { qos: 1 });
  // Asking again later is a new request; set aside, it stays aside.
  const later = new Date(Date.now() + 1000).toISOString();
  await cClient.publishAsync(deviceTopic(cBox.deviceId, 'media-stats'), stats([{ participantId, at: later }]), {
    qos: 1,
  });
  await waitFor(async () => ((await detail()).body.requests.length === 1 ? true : undefined), 10_000, 'asked again');
  t.equal((await f.api('DELETE', `/api/v1/meetings/${id}/requests/${commune.id}`)).status, 204);
  await cClient.publishAsync(deviceTopic(cBox.deviceId, 'media-stats'), stats([{ participantId, at: later }]), {
    qos: 1,
  });
  await new Promise((r) => setTimeout(r, 300));
  t.same((await detail()).body.requests, [], 'a request set aside does not come back with the next stats');
  // The floor taken back: the participant goes with it.
  await f.api('POST', `/api/v1/meetings/${id}/floor`, { body: { siteId: null } });
  await planWhere(dClient, dBox.deviceId, (p) => p.meetings[0]?.floorParticipantId === undefined);

  // Ended: no more links.
  await f.api('POST', `/api/v1/meetings/${id}/end`, { body: {} });
  const afterEnd = await ask({ siteId: commune.id });
  t.equal(afterEnd.status, 409);
  t.equal(afterEnd.body.code, 'FLEET_ERR_MEETING_ENDED');

  const doc = (await f.fleet.http.inject({ method: 'GET', url: '/docs/json' })).json() as {
    paths: Record<string, Record<string, { operationId?: string }>>;
  };
  t.equal(
    doc.paths['/api/v1/meetings/{id}/join-links']?.post?.operationId,
    'createJoinLink',
    'in the OpenAPI document',
  );
});

// The meetings API end to end: inject() against the real broker and SQLite;
// boxes are MQTT clients that log in as devices and read their retained plan.
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deviceTopic, mediaPlanCodec, mediaStatsCodec, type MediaStats } from '@diemcau/shared';
import { harness, type Harness } from './harness.js';
import { planWhere } from '../helpers/plans.js';

const post = (h: Harness, url: string, payload: unknown, operator = 'admin') =>
  h.app.inject({ method: 'POST', url, payload: payload as object, headers: { 'x-operator': operator } });
const get = (h: Harness, url: string) => h.app.inject({ method: 'GET', url, headers: { 'x-operator': 'admin' } });

t.test('meetings over the API, plans over MQTT', async (t) => {
  const probe = await harness({ online: [] });
  const sites = probe.sites;
  await probe.close();
  const district = sites.find((s) => s.kind === 'district')!.id;
  const communes = sites.filter((s) => s.parentId === district).map((s) => s.id);
  const [communeA, communeB] = communes as [string, string];
  const otherDistrict = sites.filter((s) => s.kind === 'district')[1]!.id;
  const otherCommune = sites.find((s) => s.parentId === otherDistrict)!.id;
  const department = sites.find((s) => s.kind === 'department')!.id;

  const h = await harness({
    online: [district, communeA, otherDistrict],
    addOperators: {
      [`op-${district}`]: {
        id: `op-${district}`,
        role: 'district-operator',
        area: { kind: 'subtree', siteId: district },
      },
    },
  });
  t.teardown(() => h.close());
  const core = h.meetings.config.coreEdgeId;

  // The district's box announces its signalling URL in its presence birth.
  const districtBox = await h.connect(district);
  await districtBox.publishAsync(
    deviceTopic(h.deviceOf(district), 'presence'),
    JSON.stringify({ v: 1, state: 'online', at: new Date(h.clock.t).toISOString(), mediaUrl: 'http://10.9.0.1:4443' }),
    { qos: 1, retain: true },
  );

  let provinceId = '';
  await t.test('a 210-site meeting: 37 links on the core, every box gets its part', async (t) => {
    const res = await post(h, '/api/v1/meetings', {
      title: 'Giao ban toàn tỉnh',
      chairSiteId: 'yb-peoples-committee',
      siteIds: sites.map((s) => s.id),
    });
    t.equal(res.statusCode, 201, res.statusCode === 201 ? 'created' : res.body);
    const body = res.json();
    provinceId = body.id;
    t.equal(body.siteIds.length, 210);
    t.equal(body.state, 'live');
    t.equal(body.cascade.hostEdgeId, core);
    t.equal(body.cascade.coreLinks, 9 + 28);
    t.equal(body.cascade.links, 210);

    const box = await h.connect(communeA);
    const plan = await planWhere(box, h.deviceOf(communeA), (p) => p.meetings.length === 1);
    const m = plan.meetings[0]!;
    t.match(m, {
      meetingId: provinceId,
      role: 'leaf',
      localSiteId: communeA,
      chairSiteId: 'yb-peoples-committee',
      state: 'live',
      upstream: { edgeId: h.deviceOf(district), signalUrl: 'http://10.9.0.1:4443' },
    });
    const districtPlan = await planWhere(districtBox, h.deviceOf(district), (p) => p.meetings.length === 1);
    t.match(districtPlan.meetings[0], {
      role: 'relay',
      upstream: { edgeId: core, signalUrl: 'http://127.0.0.1:4443' },
    });
    t.equal(
      m.upstream!.linkToken,
      districtPlan.meetings[0]!.acceptToken,
      'the commune holds the key its district accepts',
    );

    // The core edge on the fleet's server reads its plan from a file.
    const corePlan = mediaPlanCodec.decode(await readFile(join(h.dir, 'core', 'plan.json')));
    t.ok(corePlan.ok);
    if (corePlan.ok) {
      t.match(corePlan.value.meetings, [{ meetingId: provinceId, role: 'host', upstream: null, localSiteId: null }]);
      t.equal(
        corePlan.value.meetings[0]!.acceptToken,
        districtPlan.meetings[0]!.upstream!.linkToken,
        'the core accepts the district',
      );
      t.same(corePlan.value, h.meetings.publisher.current(core), 'the file holds what was published');
    }
  });

  await t.test('a site already in a meeting cannot join an overlapping one', async (t) => {
    const res = await post(h, '/api/v1/meetings', { title: 'x', chairSiteId: department, siteIds: [] });
    t.equal(res.statusCode, 409);
    t.equal(res.json().code, 'FLEET_ERR_MEETING_SITE_BUSY');
    t.match(res.json().message, new RegExp(`site ${department} is already in meeting ${provinceId}`));
  });

  await t.test('unknown sites and bad bodies are refused with a reason', async (t) => {
    const unknown = await post(h, '/api/v1/meetings', {
      title: 'x',
      chairSiteId: 'no-such-site',
      siteIds: [department],
    });
    t.equal(unknown.statusCode, 404);
    t.equal(unknown.json().code, 'FLEET_ERR_UNKNOWN_SITE');
    t.same(unknown.json().details, { siteIds: ['no-such-site'] });
    const bad = await post(h, '/api/v1/meetings', { chairSiteId: department, siteIds: [] });
    t.equal(bad.statusCode, 400);
    const viewer = await post(
      h,
      '/api/v1/meetings',
      { title: 'x', chairSiteId: department, siteIds: [], startsAt: new Date(h.clock.t + 3 * 3600_000).toISOString() },
      'viewer',
    );
    t.equal(viewer.statusCode, 403);
  });

  await t.test('chair controls reach the boxes', async (t) => {
    const box = await h.connect(communeA);
    const before = await planWhere(box, h.deviceOf(communeA), (p) => p.meetings.length === 1);
    const muted = await post(h, `/api/v1/meetings/${provinceId}/mute-all`, { muted: true });
    t.equal(muted.statusCode, 200, muted.statusCode === 200 ? 'muted' : muted.body);
    t.equal(muted.json().mutedAll, true);
    const floor = await post(h, `/api/v1/meetings/${provinceId}/floor`, { siteId: district });
    t.equal(floor.json().floorSiteId, district);
    const roll = await post(h, `/api/v1/meetings/${provinceId}/roll-call`, { siteId: communeB });
    t.equal(roll.json().rollCallSiteId, communeB);
    const after = await planWhere(box, h.deviceOf(communeA), (p) => p.meetings[0]?.rollCallSiteId === communeB);
    t.match(after.meetings[0], { mutedAll: true, floorSiteId: district, rollCallSiteId: communeB });
    t.ok(after.revision > before.revision);
    const outsider = await post(h, `/api/v1/meetings/${provinceId}/floor`, { siteId: 'no-such-site' });
    t.equal(outsider.statusCode, 400);
    const notOurs = await post(h, `/api/v1/meetings/${provinceId}/mute-all`, { muted: false }, `op-${district}`);
    t.equal(notOurs.statusCode, 403, "a district operator does not chair the province's meeting");
  });

  await t.test('live per-site stats from the edges show in GET', async (t) => {
    const report: MediaStats = {
      v: 1,
      edgeId: h.deviceOf(district),
      at: new Date(h.clock.t).toISOString(),
      revision: 3,
      meetings: [
        {
          meetingId: provinceId,
          role: 'relay',
          localSiteId: district,
          local: [
            {
              kind: 'video',
              siteId: district,
              bitrateBps: 2_000_000,
              packets: 900,
              packetsLost: 9,
              lossRate: 0.01,
              jitterMs: 4,
            },
            {
              kind: 'audio',
              siteId: district,
              bitrateBps: 48_000,
              packets: 250,
              packetsLost: 0,
              lossRate: 0,
              jitterMs: 2,
            },
          ],
          links: [
            {
              peerEdgeId: core,
              direction: 'up',
              state: 'connected',
              sendBitrateBps: 2_100_000,
              recvBitrateBps: 3_000_000,
              sendStreams: 2,
              recvStreams: 4,
              packetsLost: 30,
              lossRate: 0.02,
              jitterMs: 7,
              rttMs: 35,
            },
          ],
          activeSpeakerSiteId: 'yb-peoples-committee',
        },
      ],
    };
    t.ok(mediaStatsCodec.check(report).ok);
    await districtBox.publishAsync(deviceTopic(h.deviceOf(district), 'media-stats'), JSON.stringify(report), {
      qos: 1,
    });
    // A box claiming another edge's stats is refused.
    await districtBox.publishAsync(
      deviceTopic(h.deviceOf(district), 'media-stats'),
      JSON.stringify({ ...report, edgeId: 'box-other' }),
      { qos: 1 },
    );
    await t.resolves(h.meetings.publisher.idle());
    const res = await get(h, `/api/v1/meetings/${provinceId}`);
    t.equal(res.statusCode, 200);
    const stats = res.json().stats as Array<Record<string, unknown>>;
    t.equal(stats.length, 210);
    t.match(
      stats.find((s) => s.siteId === district),
      {
        edgeId: h.deviceOf(district),
        bitrateBps: 2_048_000,
        lossRate: 0.02,
        jitterMs: 7,
        rttMs: 35,
        pathRttMs: 35,
        linkState: 'connected',
        activeSpeakerSiteId: 'yb-peoples-committee',
      },
    );
    t.match(
      stats.find((s) => s.siteId === communeA),
      { bitrateBps: null, rttMs: null },
      'no report, no numbers',
    );
    t.equal(h.meetings.stats.counters.rejected, 1);
    h.clock.t += 60_000;
    const stale = (await get(h, `/api/v1/meetings/${provinceId}`)).json().stats as Array<Record<string, unknown>>;
    t.match(
      stale.find((s) => s.siteId === district),
      { bitrateBps: null },
      'stale reports are not shown as live',
    );
  });

  await t.test('busy query for reboots and rollouts', async (t) => {
    t.equal((await h.meetings.service.busyMeeting(communeA))?.id, provinceId);
    t.same([...(await h.meetings.service.busySites([communeA, 'no-such-site']))], [communeA]);
  });

  await t.test("ending a meeting empties the boxes' plans and frees the sites", async (t) => {
    const box = await h.connect(communeA);
    const res = await post(h, `/api/v1/meetings/${provinceId}/end`, {});
    t.equal(res.statusCode, 200);
    t.equal(res.json().state, 'ended');
    const plan = await planWhere(box, h.deviceOf(communeA), (p) => p.meetings.length === 0);
    t.same(plan.meetings, []);
    t.equal(await h.meetings.service.busyMeeting(communeA), null);
    const again = await post(h, `/api/v1/meetings/${provinceId}/mute-all`, { muted: false });
    t.equal(again.statusCode, 409);
    t.equal(again.json().code, 'FLEET_ERR_MEETING_ENDED');
  });

  await t.test("a district's own meeting never touches the core", async (t) => {
    const coreBefore = h.meetings.publisher.current(core);
    const res = await post(
      h,
      '/api/v1/meetings',
      { title: 'Giao ban huyện', chairSiteId: district, siteIds: communes },
      `op-${district}`,
    );
    t.equal(res.statusCode, 201, res.statusCode === 201 ? 'created' : res.body);
    t.equal(res.json().cascade.hostEdgeId, h.deviceOf(district));
    t.equal(res.json().cascade.coreLinks, 0);
    t.same(h.meetings.publisher.current(core), coreBefore, "the core's plan did not change");
    const plan = await planWhere(districtBox, h.deviceOf(district), (p) => p.meetings.length === 1);
    t.match(plan.meetings[0], { role: 'host', upstream: null, localSiteId: district });
    const outside = await post(
      h,
      '/api/v1/meetings',
      {
        title: 'x',
        chairSiteId: district,
        siteIds: [otherCommune],
        startsAt: new Date(h.clock.t + 3 * 3600_000).toISOString(),
      },
      `op-${district}`,
    );
    t.equal(outside.statusCode, 403, 'a district operator stays inside the district');
  });

  await t.test('a scheduled meeting reaches the boxes ahead of time and goes live on time', async (t) => {
    const box = await h.connect(otherDistrict);
    const startsAt = h.clock.t + 30 * 60_000;
    const res = await post(h, '/api/v1/meetings', {
      title: 'Họp chiều',
      chairSiteId: otherDistrict,
      siteIds: [otherCommune],
      startsAt: new Date(startsAt).toISOString(),
      durationMin: 60,
    });
    t.equal(res.statusCode, 201);
    t.equal(res.json().state, 'scheduled');
    const id = res.json().id as string;
    t.same(
      h.meetings.publisher.current(h.deviceOf(otherDistrict))?.meetings ?? [],
      [],
      'not yet: outside the lead time',
    );
    t.equal(await h.meetings.service.busyMeeting(otherCommune, 10), null);
    t.equal((await h.meetings.service.busyMeeting(otherCommune, 45))?.id, id, 'refuses reboots 45 minutes ahead');
    h.clock.t = startsAt - 10 * 60_000;
    await h.meetings.service.sync();
    await planWhere(box, h.deviceOf(otherDistrict), (p) => p.meetings[0]?.state === 'scheduled');
    h.clock.t = startsAt + 1;
    await h.meetings.service.sync();
    const live = await planWhere(box, h.deviceOf(otherDistrict), (p) => p.meetings[0]?.state === 'live');
    t.equal(live.meetings[0]!.meetingId, id);
    const list = await get(h, '/api/v1/meetings');
    t.ok((list.json().items as Array<{ id: string }>).some((m) => m.id === id));
  });

  await t.test('revisions keep growing across a restart', async (t) => {
    const edge = h.deviceOf(otherDistrict);
    const before = h.meetings.publisher.current(edge)!.revision;
    // The embedded broker keeps retained messages in memory: a restart loses them.
    await h.broker.publish(deviceTopic(edge, 'media'), '', { qos: 1, retain: true });
    await h.restart();
    t.equal(h.meetings.publisher.current(edge)!.revision, before, 'nothing changed: same revision');
    const box = await h.connect(otherDistrict);
    const again = await planWhere(box, edge, (p) => p.meetings.length === 1);
    t.equal(again.revision, before, 'the plan is retained again after the restart, unchanged');
    const id = ((await get(h, '/api/v1/meetings')).json().items as Array<{ id: string; chairSiteId: string }>).find(
      (m) => m.chairSiteId === otherDistrict,
    )!.id;
    await post(h, `/api/v1/meetings/${id}/end`, {});
    t.ok(h.meetings.publisher.current(edge)!.revision > before);
  });
});

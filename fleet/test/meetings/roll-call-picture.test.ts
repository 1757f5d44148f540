// The chair's roll-call picture in the running fleet (buildFleet, real broker,
// boxes over MQTT): who may have a monitor link, when, what it says and where
// it points, that it verifies with the key the edges get in their plans, that
// the audit log names it without holding it, and that the dashboard may frame
// the edges the fleet knows and nothing else. What the edge then lets the link
// do is appliance/test/media/roll-call-monitor.test.ts; the console end to end
// is scripts/test/chair-tv.test.ts.
import t from 'tap';
import { deviceTopic, readJoinClaims, verifyJoinLink, type Site } from '@diemcau/shared';
import { connectDevice, presence, startTestFleet } from '../helpers/fleet.js';
import { operator } from '../helpers/enrol.js';
import { planWhere } from '../helpers/plans.js';

interface Picture {
  url: string | null;
  meetingId: string;
  chairSiteId: string;
  calledSiteId: string;
  expiresAt: string;
  edgeId: string | null;
  code?: string;
  message?: string;
}

t.test(
  "the chair's roll-call picture: only for who may chair, only during a roll call, on the chair's edge",
  async (t) => {
    const f = await startTestFleet(t);
    const sites = (await f.api<{ items: Site[] }>('GET', '/api/v1/sites')).body.items;
    const districts = sites.filter((s) => s.kind === 'district');
    const [d1, d2] = districts as [Site, Site];
    const [c1, c2] = sites.filter((s) => s.parentId === d1.id) as [Site, Site];
    const province = sites.find((s) => s.kind === 'peoples-committee')!;
    const boxes = new Map<string, Awaited<ReturnType<typeof f.enrol>>>();
    const clients = new Map<string, Awaited<ReturnType<typeof connectDevice>>>();
    for (const [i, site] of [d1, c1, c2, province].entries()) {
      const box = await f.enrol(site.id);
      const client = await connectDevice(t, box);
      await client.publishAsync(
        deviceTopic(box.deviceId, 'presence'),
        presence('online', { mediaUrl: `https://127.0.0.1:${7443 + i}` }),
        { qos: 1, retain: true },
      );
      boxes.set(site.id, box);
      clients.set(site.id, client);
    }
    const meeting = async (chairSiteId: string, siteIds: string[]): Promise<string> => {
      const r = await f.api<{ id: string }>('POST', '/api/v1/meetings', {
        body: { title: 'Giao ban', chairSiteId, siteIds, durationMin: 30 },
      });
      t.equal(r.status, 201);
      return r.body.id;
    };
    const id = await meeting(d1.id, [c1.id]);
    const ask = (meetingId: string, token?: string | null) =>
      f.api<Picture>('POST', `/api/v1/meetings/${meetingId}/roll-call/picture`, {
        ...(token !== undefined ? { token } : {}),
      });

    const idle = await ask(id);
    t.equal(idle.status, 409, 'no roll call running: no picture link');
    t.match(idle.body.message, /no roll call/);

    t.equal((await f.api('POST', `/api/v1/meetings/${id}/roll-call`, { body: { siteId: c1.id } })).status, 200);
    const issued = await ask(id);
    t.equal(issued.status, 201);
    t.equal(issued.body.chairSiteId, d1.id, "on the chairing site's edge");
    t.equal(issued.body.calledSiteId, c1.id, 'names the room called now');
    t.equal(issued.body.edgeId, boxes.get(d1.id)!.deviceId);
    const url = new URL(issued.body.url!);
    t.equal(url.origin, 'https://127.0.0.1:7443', "the chair's edge, as its box announced it");
    t.equal(url.pathname, '/media/v1/join');
    const link = url.searchParams.get('link')!;
    const plan = await planWhere(clients.get(d1.id)!, boxes.get(d1.id)!.deviceId, (p) => p.joinKey !== undefined);
    t.ok(verifyJoinLink(link, plan.joinKey!, Date.now()).ok, 'it verifies with the key the edges have');
    const claims = readJoinClaims(link)!;
    t.match(claims, { meetingId: id, siteId: d1.id, role: 'monitor' }, 'a monitor link for the chairing site');
    t.ok(claims.exp - claims.iat <= 15 * 60, 'short-lived (15 minutes at most)');
    t.equal(issued.body.expiresAt, new Date(claims.exp * 1000).toISOString());

    // Who may: whoever may chair it (the chairing site in scope), nobody else.
    const own = await operator(f.api, 'district-operator', d1.id);
    const other = await operator(f.api, 'district-operator', d2.id);
    const viewer = await operator(f.api, 'viewer');
    t.equal((await ask(id, own)).status, 201, "the chairing district's operator may");
    t.equal((await ask(id, other)).status, 404, "another district's operator does not even see the meeting");
    t.equal((await ask(id, viewer)).status, 403, 'a viewer may not');
    t.equal((await ask(id, null)).status, 401, 'no token: nothing');
    t.equal((await ask('no-such-meeting')).status, 404);

    // A province-chaired meeting with d1's commune: d1's operator sees it, but may not chair it.
    const provincial = await meeting(province.id, [c2.id]);
    t.equal((await f.api('POST', `/api/v1/meetings/${provincial}/roll-call`, { body: { siteId: c2.id } })).status, 200);
    const seen = await f.api('GET', `/api/v1/meetings/${provincial}`, { token: own });
    t.equal(seen.status, 200, "d1's operator sees the province's meeting (its commune is in it)");
    t.equal((await ask(provincial, own)).status, 403, 'but gets no picture of a meeting it does not chair');
    t.equal((await ask(provincial)).status, 201, "the province's operator does");

    const audit = await f.api<{ items: Array<{ action: string; details?: unknown }> }>('GET', '/api/v1/audit');
    const entries = audit.body.items.filter((e) => e.action === 'POST /api/v1/meetings/:id/roll-call/picture');
    t.ok(entries.length >= 3, 'each picture link is in the audit log');
    t.notOk(JSON.stringify(audit.body).includes(link), 'which never holds the link itself');

    // The dashboard may frame exactly the edges the fleet knows.
    const page = await f.fleet.http.inject({ method: 'GET', url: '/' });
    t.equal(page.statusCode, 200, 'the dashboard is built');
    const csp = String(page.headers['content-security-policy'] ?? '');
    t.match(
      csp,
      /; frame-src https:\/\/127\.0\.0\.1:7443 https:\/\/127\.0\.0\.1:7444 https:\/\/127\.0\.0\.1:7445 https:\/\/127\.0\.0\.1:7446$/,
      "the page may frame the edges' join pages",
    );
    t.match(csp, /default-src 'none'/, 'and nothing else');

    // Ended: no more picture links.
    t.equal((await f.api('POST', `/api/v1/meetings/${id}/end`)).status, 200);
    const ended = await ask(id);
    t.equal(ended.status, 409, 'an ended meeting: none');
    t.equal(ended.body.code, 'FLEET_ERR_MEETING_ENDED');
  },
);

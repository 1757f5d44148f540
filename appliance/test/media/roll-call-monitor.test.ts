// The chair's roll-call picture at the edge, with real edges, real GStreamer
// senders and the join page in real Chromium. The chair's box hosts the
// meeting; two rooms link to it:
//
//        e-chair (host, site chair)
//        /            \
//     e-a (room-a)    e-b (room-b)
//
// The fleet's monitor link for the chairing site (signed here with the key the
// fleet would use) opens the chair's edge in watch mode: the page shows the
// called room's small picture (its band in that room's colour, frames moving),
// switches when the roll call steps, and shows nothing when it ends. Tried as
// an attacker would: other sites' and other kinds of streams, the full layer,
// sending, asking to speak, a second transport, a flood of monitors, an expired
// link and one for another edge; and the edge closes a monitor's picture of
// the last room by itself when the roll call moves on.
import t from 'tap';
import {
  joinKeyPair,
  newJoinLinkId,
  signJoinLink,
  type JoinClaims,
  type MediaMeeting,
  type MediaPlan,
} from '@diemcau/shared';
import { siteColour } from '../../src/media/ffmpeg/args.js';
import { launchChromium, node, plansFor, spawnEdge, until, type EdgeProc, type Node } from './helpers.js';
import { sameColour } from './receiver.js';

const M = 'm-roll-monitor';

interface Watch {
  siteId: string | null;
  producerId: string | null;
  status: string;
  frames: number;
  reason: string | null;
}
type Listed = { id: string; kind: string; siteId: string; paused: boolean; layer?: string };
type Answer = { status: number; body: { reason?: string; message?: string } & Record<string, unknown> };

t.test(
  "the chair's monitor link shows the called room live, follows the roll call, and opens nothing else",
  async (t) => {
    const edges: EdgeProc[] = [];
    t.teardown(async () => {
      await Promise.all(edges.map((e) => e.kill('SIGKILL')));
    });
    const spawn = async (edgeId: string): Promise<EdgeProc> => {
      const e = await spawnEdge({
        edgeId,
        hardware: 'simulated',
        // No fixed join token: browsers have only the fleet's links.
        env: { DIEMCAU_EDGE_SIM_VOICE: 'silent', DIEMCAU_EDGE_SMALL_KBPS: '60', DIEMCAU_EDGE_JOIN_TOKEN: '' },
      });
      edges.push(e);
      return e;
    };
    const [chairEdge, aEdge, bEdge] = await Promise.all([spawn('e-chair'), spawn('e-a'), spawn('e-b')]);
    const host = node(chairEdge, 'chair', null);
    const rooms: Node[] = [host, node(aEdge, 'room-a', host), node(bEdge, 'room-b', host)];
    t.notOk(sameColour(siteColour('room-a'), siteColour('room-b')), 'the two rooms send bands of different colours');

    const fleetKey = joinKeyPair();
    let revision = 0;
    const apply = async (extra: Partial<MediaMeeting>): Promise<void> => {
      revision += 1;
      for (const [n, p] of plansFor(M, rooms, 'chair', revision, { mutedAll: true, ...extra })) {
        const plan: MediaPlan = { ...p, joinKey: fleetKey.publicKeyPem };
        await n.edge.plan(plan);
      }
    };
    const now = Math.floor(Date.now() / 1000);
    const link = (over: Partial<JoinClaims> = {}): string =>
      signJoinLink(
        {
          v: 1,
          meetingId: M,
          siteId: 'chair',
          role: 'monitor',
          iat: now,
          exp: now + 900,
          jti: newJoinLinkId(),
          ...over,
        },
        fleetKey.privateKeyPem,
      );
    const call = async (bearer: string, method: string, p: string, body?: unknown): Promise<Answer> => {
      const r = await fetch(`${chairEdge.url}/media/v1/meetings/${M}${p}`, {
        method,
        headers: {
          authorization: `Bearer ${bearer}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await r.text();
      return { status: r.status, body: text ? (JSON.parse(text) as never) : ({} as never) };
    };
    /** The called room's pictures at the chair's edge, once both layers flow there. */
    const layersAtChair = (siteId: string) =>
      until(
        `both pictures of ${siteId} at the chair's edge`,
        async () => {
          const v = ((await chairEdge.streams(M)) as Listed[]).filter(
            (s) => s.siteId === siteId && s.kind === 'video' && !s.paused,
          );
          const small = v.find((s) => s.layer === 'small');
          const full = v.find((s) => s.layer === undefined);
          return small && full ? { small: small.id, full: full.id } : null;
        },
        90_000,
      );

    await apply({ rollCallSiteId: 'room-a' });
    const a = await layersAtChair('room-a');

    // The chair's console, as it frames the edge's page.
    const watching = link();
    const { browser, page } = await launchChromium(t, []);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${chairEdge.url}/media/v1/join?link=${watching}`);
    const watch = async (): Promise<Watch | undefined> =>
      (await page.evaluate('window.diemcau && window.diemcau.watch')) as Watch | undefined;
    /** The picture the page shows: its size, its playback time and its band's colour (sampled near the bottom). */
    const frame = async () =>
      (await page.evaluate(`(() => {
      const v = document.getElementById('watch');
      if (!v || v.hidden || !v.videoWidth) return null;
      const c = document.createElement('canvas');
      c.width = v.videoWidth; c.height = v.videoHeight;
      const g = c.getContext('2d');
      g.drawImage(v, 0, 0);
      const d = g.getImageData(Math.floor(c.width / 2), Math.floor(c.height * 0.93), 1, 1).data;
      return { w: v.videoWidth, h: v.videoHeight, time: v.currentTime, band: [d[0], d[1], d[2]] };
    })()`)) as { w: number; h: number; time: number; band: [number, number, number] } | null;
    /** Waits until the page shows `siteId` moving: frames decoded, playback time advancing, the site's band. */
    const showsLive = async (siteId: string, producerId: string) => {
      const first = await until(
        `the page receiving ${siteId}`,
        async () => {
          const w = await watch();
          return w?.siteId === siteId && w.producerId === producerId && w.status === 'receiving' && w.frames > 0
            ? w
            : null;
        },
        60_000,
      ).catch(async (err: unknown) => {
        throw new Error(`${String(err)}; watch ${JSON.stringify(await watch())}; errors ${errors.join('; ')}`);
      });
      const f1 = await until(`a picture of ${siteId}`, frame, 30_000);
      const later = await until(
        `${siteId}'s picture moving`,
        async () => {
          const w = await watch();
          const f = await frame();
          return w && f && w.frames > first.frames + 10 && f.time > f1.time + 0.3 ? { w, f } : null;
        },
        30_000,
      );
      return { frames: later.w.frames - first.frames, advanced: later.f.time - f1.time, ...later.f };
    };

    const seenA = await showsLive('room-a', a.small);
    t.pass(`room-a moves on the chair's page: ${seenA.frames} more frames, ${seenA.advanced.toFixed(1)} s played`);
    t.same([seenA.w, seenA.h], [160, 120], 'the small picture (160x120), not the full one');
    t.ok(sameColour(seenA.band, siteColour('room-a')), `band ${seenA.band.join(',')} is room-a's colour`);

    // A second monitor, driven by hand as an attacker would.
    const intruder = link();
    const joined = await call(intruder, 'POST', '/peers', {});
    t.equal(joined.status, 201, 'a monitor link joins its own meeting on the chairing edge');
    const caps = joined.body.rtpCapabilities;
    const peer = `/peers/${String(joined.body.peerId)}`;
    const transport = await call(intruder, 'POST', `${peer}/transports`, {});
    t.equal(transport.status, 201);
    const second = await call(intruder, 'POST', `${peer}/transports`, {});
    t.equal(second.status, 429, 'one transport only');
    t.equal(second.body.reason, 'transports-per-peer');
    const consume = (producerId: string) =>
      call(intruder, 'POST', `${peer}/consume`, { transportId: transport.body.id, producerId, rtpCapabilities: caps });
    const listed = (await chairEdge.streams(M)) as Listed[];
    const chairVideo = listed.find((s) => s.siteId === 'chair' && s.kind === 'video')!;
    const aAudio = listed.find((s) => s.siteId === 'room-a' && s.kind === 'audio');
    for (const [what, id, reason] of [
      ["the chair's own camera", chairVideo.id, 'monitor-not-called'],
      ["room-a's full picture", a.full, 'monitor-not-thumbnail'],
      ...(aAudio ? ([["room-a's microphone", aAudio.id, 'monitor-not-picture']] as const) : []),
    ] as const) {
      const r = await consume(id);
      t.equal(r.status, 403, `${what}: refused`);
      t.equal(r.body.reason, reason, `${what}: ${reason}`);
    }
    const took = await consume(a.small);
    t.equal(took.status, 201, "the called room's small picture: taken");
    const again = await consume(a.small);
    t.equal(again.status, 409, 'the same picture twice: refused');
    const produce = await call(intruder, 'POST', `${peer}/produce`, {
      transportId: transport.body.id,
      kind: 'video',
      rtpParameters: {},
    });
    t.equal(produce.status, 403, 'a monitor cannot send');
    t.equal(produce.body.reason, 'join-link-monitor');
    t.equal((await call(intruder, 'POST', `${peer}/speak`, {})).status, 403, 'nor ask to speak');

    // A flood of monitors fills the monitors' own share and no more; guests keep theirs.
    const flood: number[] = [];
    const flooders: Array<[string, string]> = [];
    for (let i = 0; i < 12; i++) {
      const l = link();
      const r = await call(l, 'POST', '/peers', {});
      flood.push(r.status);
      if (r.status === 201) flooders.push([l, String(r.body.peerId)]);
    }
    t.ok(flood.includes(429), `monitors past their share are refused (${flood.join(',')})`);
    t.ok(flood.filter((s) => s === 201).length <= 8, 'at most the per-token share in all');
    const guest = signJoinLink(
      { v: 1, meetingId: M, siteId: 'chair', role: 'listener', iat: now, exp: now + 900, jti: newJoinLinkId() },
      fleetKey.privateKeyPem,
    );
    t.equal((await call(guest, 'POST', '/peers', {})).status, 201, 'a guest still joins: its share is its own');
    for (const [l, id] of flooders) await call(l, 'DELETE', `/peers/${id}`);

    // Stale and misdirected links.
    const expired = await call(link({ iat: now - 3600, exp: now - 60 }), 'POST', '/peers', {});
    t.equal(expired.status, 401, 'an expired monitor link: refused');
    t.equal(expired.body.reason, 'join-link-expired');
    const otherEdge = await call(link({ siteId: 'room-a' }), 'POST', '/peers', {});
    t.equal(otherEdge.status, 403, "a monitor link for another site's edge: refused here");
    t.equal(otherEdge.body.reason, 'join-link-other-site');

    // The roll call steps to room-b: the edge closes every monitor's picture of room-a by itself.
    const consumerOf = async (id: string): Promise<boolean> =>
      (await chairEdge.dump()).rooms.some((r) => r.consumerIds.includes(id));
    t.ok(await consumerOf(String(took.body.id)), "the intruder's consumer exists");
    await apply({ rollCallSiteId: 'room-b' });
    await until('the edge closes the picture of the last room', async () => !(await consumerOf(String(took.body.id))));
    t.pass('the edge closed the picture of room-a that the intruder never gave back');
    const b = await layersAtChair('room-b');
    const stale = await consume(a.small);
    t.equal(stale.status, 403, 'room-a once the roll call moved on: refused');
    t.equal(stale.body.reason, 'monitor-not-called');
    const seenB = await showsLive('room-b', b.small);
    t.pass(`the page switched to room-b: ${seenB.frames} more frames`);
    t.ok(sameColour(seenB.band, siteColour('room-b')), `band ${seenB.band.join(',')} is room-b's colour`);

    // A link that expires while it watches: the edge closes its peer (the picture flows
    // without a request, so checking the link on requests alone would not end it).
    const shortLived = link({ iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 15 });
    const page2 = await browser.newPage();
    page2.on('pageerror', (e) => errors.push(String(e)));
    await page2.goto(`${chairEdge.url}/media/v1/join?link=${shortLived}`);
    const watch2 = async (): Promise<Watch | undefined> =>
      (await page2.evaluate('window.diemcau && window.diemcau.watch')) as Watch | undefined;
    await until('the short-lived monitor receiving room-b', async () => {
      const w = await watch2();
      return w?.siteId === 'room-b' && w.status === 'receiving' && w.frames > 0 ? w : null;
    });
    const expiredAt = await until(
      'the short-lived monitor told its link expired',
      async () => {
        const w = await watch2();
        return w?.status === 'refused' ? w : null;
      },
      40_000,
    );
    t.equal(expiredAt.reason, 'join-link-expired', 'the page learns its link expired (the console asks for a new one)');
    const closedOnExpiry = await chairEdge.api<{ byReason: Record<string, number> }>('GET', '/media/v1/refusals');
    t.ok(
      (closedOnExpiry.body.byReason['monitor-link-expired'] ?? 0) >= 1,
      'and the edge closed its peer when it expired',
    );
    await page2.close();

    // The roll call ends: nothing to watch, and the edge holds no monitor picture.
    await apply({});
    const ended = await until('the page has nothing to show', async () => {
      const w = await watch();
      return w?.status === 'no-roll-call' ? w : null;
    });
    t.equal(ended.producerId, null, 'no picture once the roll call ends');
    t.equal((await consume(b.small)).body.reason, 'monitor-no-roll-call', 'and none is given');

    // Leaving the page gives its peer back.
    const peersBefore = (await chairEdge.api<{ peers: number }>('GET', '/media/v1/refusals')).body.peers;
    await browser.close();
    await until(
      "the page's peer closed",
      async () => (await chairEdge.api<{ peers: number }>('GET', '/media/v1/refusals')).body.peers < peersBefore,
      45_000,
    );
    t.pass('the closed page left no peer behind');

    const refused = (await chairEdge.api<{ byReason: Record<string, number> }>('GET', '/media/v1/refusals')).body
      .byReason;
    for (const reason of [
      'monitor-not-called',
      'monitor-not-thumbnail',
      'monitor-no-roll-call',
      'join-link-monitor',
      'transports-per-peer',
      'peers-per-token',
      'monitor-stepped',
      'monitor-link-expired',
    ])
      t.ok((refused[reason] ?? 0) >= 1, `${reason} counted`);
    t.same(errors, [], 'no script error on the page');
  },
);

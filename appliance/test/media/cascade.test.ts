// The cascade end to end, every edge a separate process with its own mediasoup
// worker, the communes sending ffmpeg's test pattern:
//
//        core (host)
//        /        \
//      d1          d2        (districts, relays)
//     /   \          \
//   cA    cA2         cB     (communes, leaves)
//
// cB is the chair's room and cA2's room are silent; cA's room speaks (a tone).
// A stream crosses a link only while someone beyond it receives it
// (forwarding.ts flows()), each link once: the chair's, the roll call's and the
// speaker's, whom the core hears through the audio level each commune writes
// into its microphone's packets. Every edge knows who is in the meeting from
// the roster, not from streams. A camera's picture must decode four links away
// as that site's own; killing d1 mid-stream leaves no transport behind.
import t from 'tap';
import { siteColour } from '../../src/media/ffmpeg/args.js';
import { node, plansFor, spawnEdge, until, type EdgeProc } from './helpers.js';
import { decodeTap, sameColour } from './receiver.js';

const M = 'm-cascade';
const W = 320;
const H = 240;

t.test('a commune stream crosses the cascade to another commune, when featured', async (t) => {
  const edges: EdgeProc[] = [];
  t.teardown(async () => {
    await Promise.all(edges.map((e) => e.kill('SIGKILL')));
  });
  const start = async (edgeId: string, voice: 'tone' | 'silent' | null): Promise<EdgeProc> => {
    const e = await spawnEdge({
      edgeId,
      role: edgeId === 'core' ? 'core' : 'site',
      hardware: voice ? 'simulated' : 'none',
      env: voice ? { DIEMCAU_EDGE_SIM_VOICE: voice } : {},
    });
    edges.push(e);
    return e;
  };
  const [core, d1, d2, cA, cA2, cB] = await Promise.all([
    start('core', null),
    start('d1', null),
    start('d2', null),
    start('cA', 'tone'),
    start('cA2', 'silent'),
    start('cB', 'silent'),
  ]);
  const nCore = node(core, null, null);
  const nD1 = node(d1, null, nCore);
  const nD2 = node(d2, null, nCore);
  const nodes = [nCore, nD1, nD2, node(cA, 'site-a', nD1), node(cA2, 'site-a2', nD1), node(cB, 'site-b', nD2)];
  const apply = async (revision: number, extra = {}): Promise<void> => {
    for (const [n, p] of plansFor(M, nodes, 'site-b', revision, extra)) await n.edge.plan(p);
  };
  const at = async (e: EdgeProc, siteId: string, kind: string) =>
    (await e.streams(M)).find((s) => s.siteId === siteId && s.kind === kind);
  const decodesAs = async (e: EdgeProc, producerId: string, siteId: string): Promise<void> => {
    const d = await decodeTap(e, M, producerId, { width: W, height: H, frames: 8 });
    t.ok(d.frames >= 1, `decoded ${d.frames} frames at ${e.edgeId}`);
    t.match(d.sdp, /VP8\/90000/, 'VP8 as sent by the commune');
    t.ok(sameColour(d.band, siteColour(siteId)), `band ${d.band.map(Math.round).join(',')} is ${siteId}'s colour`);
  };

  // The chair (site-b) opens the meeting with every other microphone closed.
  await apply(1, { mutedAll: true });

  // Both rooms under d1 are in cB's roster, four links away, but nothing of theirs is announced there.
  const roster = await until('site-a and site-a2 in the roster at cB', async () => {
    const l = (await cB.roster(M)).filter((e) => e.siteId === 'site-a' || e.siteId === 'site-a2');
    return l.length === 2 ? l : null;
  });
  t.same(
    roster,
    [
      { siteId: 'site-a', mic: false, camera: true },
      { siteId: 'site-a2', mic: false, camera: true },
    ],
    'cB knows they are in, microphones closed by the chair, cameras not shown',
  );
  t.same(
    (await cB.streams(M)).filter((s) => s.siteId === 'site-a' || s.siteId === 'site-a2'),
    [],
    'none of their streams is announced at cB',
  );
  const d1Up = await until('d1 sends nothing up', async () => {
    const up = (await d1.stats()).meetings[0]?.links.find((l) => l.direction === 'up');
    return up && up.sendStreams === 0 ? up : null;
  });
  t.equal(d1Up.peerEdgeId, 'core');
  const quiet = await until("nothing but the chair's streams enters cB", async () => {
    const up = (await cB.stats()).meetings[0]?.links.find((l) => l.direction === 'up');
    // the chair's own room is all that flows, and it flows upwards from cB
    return up && up.recvStreams === 0 && up.sendStreams === 2 ? up : null;
  });
  t.ok(
    quiet.recvBitrateBps < 30_000,
    `held-back cameras cost cB's line nothing (${Math.round(quiet.recvBitrateBps / 1000)} kbit/s in)`,
  );

  // Roll call of site-a2: its camera flows to everyone, site-a's stays back.
  await apply(2, { mutedAll: true, rollCallSiteId: 'site-a2' });
  await until('site-a2 video flowing at cB', async () =>
    (await at(cB, 'site-a2', 'video'))?.paused === false ? true : null,
  );
  const videoA2 = (await at(cB, 'site-a2', 'video'))!;
  t.equal(videoA2.via, 'd2', 'it came in over the link to d2');
  t.equal(videoA2.originEdgeId, 'cA2', 'origin edge travels with the stream');
  // Each edge has its own id for the stream (link/bridge.ts maps the peer's), so edges can share a worker.
  for (const e of [d1, core, d2]) {
    const there = (await e.streams(M)).find((s) => s.siteId === 'site-a2' && s.kind === 'video');
    t.ok(there && there.id !== videoA2.id, `${e.edgeId} relays site-a2's camera under its own id`);
  }
  await decodesAs(cB, videoA2.id, 'site-a2');
  t.equal(await at(cB, 'site-a', 'video'), undefined, "site-a's camera is not announced at cB");
  // Once per link, and only what is featured.
  const coreLinks = new Map((await core.stats()).meetings[0]!.links.map((l) => [l.peerEdgeId, l]));
  t.equal(coreLinks.get('d1')!.recvStreams, 1, "core receives one stream from d1: site-a2's camera");
  t.equal(coreLinks.get('d1')!.sendStreams, 2, "and sends cB's two (the chair) down to d1 once, for two communes");
  const d1Down = await until('d1 fans out', async () => {
    const m = new Map(
      (await d1.stats()).meetings[0]!.links.filter((l) => l.direction === 'down').map((l) => [
        l.peerEdgeId,
        l.sendStreams,
      ]),
    );
    return m.get('cA') === 3 ? m : null;
  });
  t.equal(d1Down.get('cA'), 3, "d1 sends cA the chair's two and its sibling site-a2's camera (never via the core)");
  t.equal(d1Down.get('cA2'), 2, "and cA2 the chair's two only");
  const coreDump = (await core.dump()).rooms[0]!;
  t.equal(
    coreDump.producerIds.length,
    4,
    "the core holds the chair's two streams and the roll call's two, not site-a's",
  );
  t.equal(coreDump.consumerIds.length, 4, 'each sent once, to the other district');

  // Roll call over: site-a2's camera is held back, then closed everywhere below the core.
  await apply(3, { mutedAll: true });
  await until('site-a2 video no longer flowing at cB', async () => {
    const v = await at(cB, 'site-a2', 'video');
    return !v || v.paused ? true : null;
  });
  await until('site-a2 torn down at cB after the grace period', async () =>
    (await cB.streams(M)).every((s) => s.siteId !== 'site-a2') ? true : null,
  );

  // Microphones open: site-a's tone reaches the core, which names it the
  // speaker; its microphone and camera start to flow down without any plan saying so.
  await apply(4, { mutedAll: false });
  const heard = await until(
    'the core names site-a the speaker',
    async () => {
      const s = (await core.stats()).meetings[0];
      return s?.activeSpeakerSiteId === 'site-a' ? s : null;
    },
    30_000,
  ).catch((err: unknown) => {
    t.comment(core.logs.filter((l) => /speaker|pause|resume/.test(l)).join('\n'));
    throw err;
  });
  t.equal(heard.activeSpeakerSiteId, 'site-a');
  await until('cB follows the core', async () =>
    (await cB.stats()).meetings[0]?.activeSpeakerSiteId === 'site-a' ? true : null,
  );
  await until('site-a video flowing at cB', async () =>
    (await at(cB, 'site-a', 'video'))?.paused === false ? true : null,
  );
  await decodesAs(cB, (await at(cB, 'site-a', 'video'))!.id, 'site-a');
  const peer = await cB.api<{ peerId: string }>('POST', `/media/v1/meetings/${M}/peers`);
  const layout = await cB.api<{ large: string[]; small: string[]; self: string }>(
    'GET',
    `/media/v1/meetings/${M}/peers/${peer.body.peerId}/layout`,
  );
  t.equal(layout.body.self, 'site-b');
  t.equal(layout.body.large[0], 'site-a', "the chair's TV shows the speaker large, first");
  // site-a2 may be large too, as a recent speaker, or a thumbnail: the observer
  // can name a silent room for a moment when the microphones open.
  t.ok(
    layout.body.large.length <= 4 && !layout.body.large.includes('site-b'),
    `at most four large, never its own room (${layout.body.large.join(', ')})`,
  );
  const flowing = new Set((await cB.streams(M)).filter((s) => s.kind === 'video' && !s.paused).map((s) => s.siteId));
  t.ok(
    [...layout.body.large, ...layout.body.small].every((s) => flowing.has(s)),
    `no frozen picture of a held-back camera (large: ${layout.body.large.join(', ')}; small: ${layout.body.small.join(', ') || 'none'})`,
  );

  // A commune leaves cleanly: d1 drops its link, nothing else changes.
  await cA2.kill('SIGTERM');
  await until('d1 down to one downstream link', async () =>
    (await d1.stats()).meetings[0]!.links.filter((l) => l.direction === 'down').length === 1 ? true : null,
  );

  // Kill the district mid-stream: everything that crossed it goes away everywhere.
  await d1.kill('SIGKILL');
  await until('cA streams gone at cB', async () =>
    (await cB.streams(M)).every((s) => s.siteId !== 'site-a') ? true : null,
  );
  const after = await until('core cleaned up', async () => {
    const d = (await core.dump()).rooms[0]!;
    return d.transportIds.length === 1 && d.producerIds.length === 2 && d.consumerIds.length === 0 ? d : null;
  });
  t.equal(after.transportIds.length, 1, 'core keeps only the pipe to d2');
  const bDump = await until('cB cleaned up', async () => {
    const d = (await cB.dump()).rooms[0]!;
    // two plain transports for its camera and microphone, one pipe to d2
    return d.transportIds.length === 3 && d.producerIds.length === 2 ? d : null;
  });
  t.equal(bDump.consumerIds.length, 2, 'cB still sends its own two streams up');
  t.equal((await d2.dump()).rooms[0]!.producerIds.length, 2, "d2 holds only cB's streams");
});

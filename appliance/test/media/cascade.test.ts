// The cascade end to end, every edge a separate process with its own mediasoup
// worker, the communes sending ffmpeg's test pattern and tone:
//
//        core (host)
//        /        \
//      d1          d2        (districts, relays)
//     /   \          \
//   cA    cA2         cB     (communes, leaves; cA and cB send media)
//
// cA's stream must reach cB (cA -> d1 -> core -> d2 -> cB) and decode there as
// cA's picture; each stream crosses each link once; the chair's mute pauses in
// step across four links; killing d1 mid-stream leaves no transport behind.
import t from 'tap';
import { siteColour } from '../../src/media/ffmpeg/args.js';
import { node, plansFor, spawnEdge, until, type EdgeProc } from './helpers.js';
import { decodeTap, sameColour } from './receiver.js';

const M = 'm-cascade';
const W = 320;
const H = 240;

t.test('a commune stream crosses the cascade to another commune', async (t) => {
  const edges: EdgeProc[] = [];
  t.teardown(async () => { await Promise.all(edges.map((e) => e.kill('SIGKILL'))); });
  const start = async (edgeId: string, sim: boolean): Promise<EdgeProc> => {
    const e = await spawnEdge({ edgeId, role: edgeId === 'core' ? 'core' : 'site', hardware: sim ? 'simulated' : 'none' });
    edges.push(e);
    return e;
  };
  const [core, d1, d2, cA, cA2, cB] = await Promise.all([
    start('core', false), start('d1', false), start('d2', false), start('cA', true), start('cA2', false), start('cB', true),
  ]);
  const nCore = node(core, null, null);
  const nD1 = node(d1, null, nCore);
  const nD2 = node(d2, null, nCore);
  const nA = node(cA, 'site-a', nD1);
  const nA2 = node(cA2, 'site-a2', nD1);
  const nB = node(cB, 'site-b', nD2);
  const nodes = [nCore, nD1, nD2, nA, nA2, nB];
  const apply = async (revision: number, extra = {}): Promise<void> => {
    for (const [n, p] of plansFor(M, nodes, 'site-b', revision, extra)) await n.edge.plan(p);
  };
  await apply(1);

  // cA's camera and microphone arrive at cB, four links away.
  const atB = await until('site-a streams at cB', async () => {
    const l = (await cB.streams(M)).filter((s) => s.siteId === 'site-a');
    return l.length === 2 ? l : null;
  });
  t.same(atB.map((s) => s.originEdgeId), ['cA', 'cA'], 'origin edge travels with the stream');
  t.ok(atB.every((s) => s.via === 'd2'), 'and it came in over the link to d2');
  const video = atB.find((s) => s.kind === 'video')!;
  // The same producer id on every edge it crossed.
  for (const e of [d1, core, d2]) t.ok((await e.streams(M)).some((s) => s.id === video.id), `${e.edgeId} relays the same stream id`);

  // Decode at the far end: the band carries site A's colour, not site B's.
  const decoded = await decodeTap(cB, M, video.id, { width: W, height: H, frames: 8 });
  t.ok(decoded.frames >= 1, `decoded ${decoded.frames} frames at cB`);
  t.match(decoded.sdp, /VP8\/90000/, 'VP8 as sent by the commune');
  t.ok(sameColour(decoded.band, siteColour('site-a')), `band ${decoded.band.map(Math.round).join(',')} is site-a's colour`);
  t.notOk(sameColour(decoded.band, siteColour('site-b')), 'and not site-b\'s own');

  // Packets were counted across the last link into cB.
  const bStats = await until('packets into cB', async () => {
    const s = await cB.stats();
    const up = s.meetings[0]?.links.find((l) => l.direction === 'up');
    return up && up.recvStreams >= 2 && up.recvBitrateBps > 0 ? up : null;
  });
  t.equal(bStats.peerEdgeId, 'd2');

  // Once per link: cB's two streams cross core -> d1 once although two communes sit behind d1.
  await until('cB streams at cA2', async () => ((await cA2.streams(M)).filter((s) => s.siteId === 'site-b').length === 2 ? true : null));
  const coreStats = await core.stats();
  const toD1 = coreStats.meetings[0]!.links.find((l) => l.peerEdgeId === 'd1')!;
  t.equal(toD1.sendStreams, 2, 'core sends cB\'s two streams to d1 once');
  t.equal(toD1.recvStreams, 2, 'and receives cA\'s two from d1 (cA2 sends none)');
  const d1Down = new Map((await d1.stats()).meetings[0]!.links.filter((l) => l.direction === 'down').map((l) => [l.peerEdgeId, l.sendStreams]));
  t.equal(d1Down.get('cA'), 2, 'd1 fans cB\'s streams out to cA');
  t.equal(d1Down.get('cA2'), 4, 'and to cA2, with its sibling cA\'s two (never via the core)');
  const coreDump = await core.dump();
  t.equal(coreDump.rooms[0]!.producerIds.length, 4, 'core holds 4 streams (2 sites x audio+video)');
  t.equal(coreDump.rooms[0]!.consumerIds.length, 4, 'each consumed once, towards the other district');

  // The chair (site-b) mutes all: cA's microphone pauses at cA, and cB sees it paused.
  await apply(2, { mutedAll: true });
  await until('site-a audio paused at cB', async () => (await cB.streams(M)).some((s) => s.siteId === 'site-a' && s.kind === 'audio' && s.paused));
  t.notOk((await cB.streams(M)).find((s) => s.siteId === 'site-b' && s.kind === 'audio')?.paused, 'the chair stays open');
  await apply(3, { mutedAll: false });
  await until('site-a audio resumed at cB', async () => (await cB.streams(M)).some((s) => s.siteId === 'site-a' && s.kind === 'audio' && !s.paused));

  // A commune leaves cleanly: d1 drops its link, nothing else changes.
  await cA2.kill('SIGTERM');
  await until('d1 down to one downstream link', async () => ((await d1.stats()).meetings[0]!.links.filter((l) => l.direction === 'down').length === 1 ? true : null));

  // Kill the district mid-stream: everything that crossed it goes away everywhere.
  await d1.kill('SIGKILL');
  await until('cA streams gone at cB', async () => ((await cB.streams(M)).every((s) => s.siteId !== 'site-a') ? true : null));
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
  t.equal((await d2.dump()).rooms[0]!.producerIds.length, 2, 'd2 holds only cB\'s streams');
});

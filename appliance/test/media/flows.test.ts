// Only what flows crosses the cascade (forwarding.ts flows(), link/bridge.ts):
// a site nobody receives is not announced down the links at all, only listed
// in the roster; a roll call announces its subject and, once over, the subject
// is held back and then closed everywhere; and when the host's speaker
// observer names a new speaker, its microphone and camera are announced on
// demand and its packets cross two links; a room that is heard but not named
// (warm) has its streams announced held back, and once named they only resume:
//
//   c3 (site-3) -> core (host) -> c2 (site-2); c1 is the chair (site-1).
//
// Real edges with real cascade links over HTTP signalling, on one mediasoup
// worker; the rooms are fed RTP from this process. Nothing is timed.
import dgram from 'node:dgram';
import t from 'tap';
import { pino } from 'pino';
import type { MediaMeeting, MediaPlan } from '@diemcau/shared';
import { INGEST, MediaWorkers, ingestRtpParameters, type Stream } from '../../src/media/adapter/index.js';
import { loadEdgeConfig, peerLimits } from '../../src/media/config.js';
import { Edge } from '../../src/media/edge.js';
import { SignalServer } from '../../src/media/server.js';
import { audioLevelByte, withAudioLevel } from '../../src/media/rtp/audio-level.js';
import { token, until } from './helpers.js';

const M = 'm-flows';
// Ports apart from the other media tests': the pool's slice, then one range per edge.
const base = 39000 + (process.pid % 20) * 100;
const log = pino({ level: 'silent' });
const limits = peerLimits(
  loadEdgeConfig({ DIEMCAU_EDGE_ID: 'x', DIEMCAU_EDGE_ADMIN_TOKEN: 'a'.repeat(24), DIEMCAU_EDGE_HARDWARE: 'none' }),
);
const EDGES = ['core', 'c1', 'c2', 'c3'] as const;
type EdgeId = (typeof EDGES)[number];
const siteOf = (e: EdgeId): string => `site-${e.slice(1)}`;

t.test('only what someone receives crosses the links, and a new speaker flows on demand', async (t) => {
  const pool = await MediaWorkers.start({ rtcMinPort: base, rtcMaxPort: base + 19, workers: 1, logLevel: 'none' });
  t.teardown(() => pool.close());
  const edges = new Map<EdgeId, Edge>();
  for (const [i, edgeId] of EDGES.entries()) {
    const edge = await Edge.start({
      edgeId,
      role: edgeId === 'core' ? 'core' : 'site',
      listen: { listenIp: '127.0.0.1' },
      capture: null,
      ffmpegBin: 'ffmpeg',
      worker: { shared: pool, ports: { min: base + 20 * (i + 1), max: base + 20 * (i + 1) + 19 } },
      log,
      limits,
      tapAllow: '127.0.0.1',
    });
    t.teardown(() => edge.close());
    edges.set(edgeId, edge);
  }
  const edge = (id: EdgeId): Edge => edges.get(id)!;
  const server = new SignalServer({
    edge: edge('core'),
    adminToken: token() + token(),
    joinToken: token() + token(),
    host: '127.0.0.1',
    port: 0,
    log,
  });
  t.teardown(() => server.close());
  const url = await server.listen();
  const linkToken = token() + token();
  const leaves = ['c1', 'c2', 'c3'] as const;
  const plan = (edgeId: EdgeId, revision: number, rollCallSiteId: string | null): MediaPlan => {
    const common = { title: M, chairSiteId: 'site-1', floorSiteId: null, rollCallSiteId, mutedAll: false };
    const meeting: MediaMeeting =
      edgeId === 'core'
        ? {
            ...common,
            meetingId: M,
            state: 'live',
            role: 'host',
            upstream: null,
            acceptToken: linkToken,
            localSiteId: null,
            downstream: leaves.map((l) => ({ edgeId: l, addresses: ['127.0.0.1'], siteIds: [siteOf(l)] })),
          }
        : {
            ...common,
            meetingId: M,
            state: 'live',
            role: 'leaf',
            upstream: { edgeId: 'core', signalUrl: url, linkToken },
            acceptToken: null,
            downstream: [],
            localSiteId: siteOf(edgeId),
          };
    return { v: 1, revision, edgeId, meetings: [meeting] };
  };
  for (const id of EDGES) t.same(await edge(id).applyPlan(plan(id, 1, null)), { ok: true }, `${id} runs the plan`);

  // Each leaf's room: a microphone and a camera, as the ingest would make them.
  // Only the chair's microphone is open: the host's observer can name nobody else.
  const mics = new Map<string, Stream>();
  const feeds: Array<{ siteId: string; port: number; ssrcA: number; ssrcV: number }> = [];
  for (const [i, id] of leaves.entries()) {
    const room = edge(id).room(M)!;
    const input = await room.router.createPlainIn('127.0.0.1');
    const [ssrcA, ssrcV] = [0x5100 + 2 * i, 0x5101 + 2 * i];
    const info = { siteId: siteOf(id), originEdgeId: id };
    const audio = await input.produce({
      kind: 'audio',
      rtpParameters: ingestRtpParameters('audio', 'vp8', ssrcA, id),
      info,
      paused: id !== 'c1',
    });
    const video = await input.produce({
      kind: 'video',
      rtpParameters: ingestRtpParameters('video', 'vp8', ssrcV, id),
      info,
    });
    room.addStream(audio, null);
    room.addStream(video, null);
    mics.set(info.siteId, audio);
    feeds.push({ siteId: info.siteId, port: input.tuple.port, ssrcA, ssrcV });
  }
  // Every 20 ms each room sends a microphone packet (silent but for `loud`) and
  // a VP8 key frame (a descriptor and a zero payload header, which the worker reads as one).
  let loud: string | null = null;
  /** A room heard at one steady level: the level observer hears it, the dominant-speaker observer never chooses it. */
  let hum: string | null = null;
  const sender = dgram.createSocket('udp4');
  let seq = 0;
  const feeder = setInterval(() => {
    seq++;
    for (const f of feeds) {
      const a = Buffer.alloc(92);
      a[0] = 0x80;
      a[1] = INGEST.opus.payloadType;
      a.writeUInt16BE(seq & 0xffff, 2);
      a.writeUInt32BE((seq * 960) >>> 0, 4);
      a.writeUInt32BE(f.ssrcA, 8);
      const level = audioLevelByte(f.siteId === loud ? -10 - (seq % 15) : f.siteId === hum ? -20 : -127);
      sender.send(withAudioLevel(a, INGEST.audioLevelExtId, level)!, f.port, '127.0.0.1');
      const v = Buffer.alloc(120);
      v[0] = 0x80;
      v[1] = INGEST.vp8.payloadType | (seq % 3 === 0 ? 0x80 : 0);
      v.writeUInt16BE(seq & 0xffff, 2);
      v.writeUInt32BE((seq * 1800) >>> 0, 4);
      v.writeUInt32BE(f.ssrcV, 8);
      v[12] = 0x10; // VP8 descriptor: start of partition 0
      sender.send(v, f.port, '127.0.0.1');
    }
  }, 20);
  t.teardown(() => {
    clearInterval(feeder);
    sender.close();
  });

  const streamsAt = (id: EdgeId, siteId: string) =>
    edge(id)
      .room(M)!
      .listStreams()
      .filter((s) => s.siteId === siteId);
  const announced = (id: EdgeId, siteId: string, kind: 'audio' | 'video') =>
    streamsAt(id, siteId).find((s) => s.kind === kind && s.via !== null);

  // ---- a site nobody receives ----
  await until("the chair's camera and microphone at c2 and c3", async () =>
    (['c2', 'c3'] as const).every((id) => announced(id, 'site-1', 'video') && announced(id, 'site-1', 'audio')),
  );
  const rosterAt = (id: EdgeId) => edge(id).room(M)!.rosterEntries();
  const everyone = await until('every edge knows all three sites from the roster', async () =>
    EDGES.every((id) => rosterAt(id).length === 3) ? rosterAt('c2') : null,
  );
  t.same(
    everyone.map((e) => e.siteId),
    ['site-1', 'site-2', 'site-3'],
    'c2 knows who is in the meeting',
  );
  t.same(
    everyone.find((e) => e.siteId === 'site-3'),
    { siteId: 'site-3', mic: false, camera: true },
    "and site-3's state: microphone closed, a camera",
  );
  t.same(streamsAt('c2', 'site-3'), [], 'but nothing of site-3 is announced at c2');
  t.same(streamsAt('core', 'site-3'), [], 'nor at the core: a closed microphone and a camera nobody shows stay home');
  t.same(streamsAt('c3', 'site-2'), [], 'nor site-2 at c3');
  const coreDump = (await edge('core').dump()).rooms[0]!;
  t.equal(coreDump.producerIds.length, 2, "the core holds the chair's two streams, no more");

  // ---- a roll call announces its subject; once over, it is held back, then closed ----
  for (const id of EDGES) await edge(id).applyPlan(plan(id, 2, 'site-2'));
  await until("site-2's camera flowing at c3 during its roll call", async () =>
    announced('c3', 'site-2', 'video')?.paused === false ? true : null,
  );
  for (const id of EDGES) await edge(id).applyPlan(plan(id, 3, null));
  await until("site-2's camera held back at c3 after the roll call", async () =>
    !announced('c3', 'site-2', 'video') || announced('c3', 'site-2', 'video')?.paused ? true : null,
  );
  await until('site-2 closed at the core and at c3 after the grace period', async () =>
    streamsAt('core', 'site-2').length === 0 && streamsAt('c3', 'site-2').length === 0 ? true : null,
  );
  t.pass('a stream nobody receives any more is torn down across the links');

  // ---- a new speaker: announced on demand, its packets cross c3 -> core -> c2 ----
  const received = { audio: 0, video: 0 };
  const taps: dgram.Socket[] = [];
  t.teardown(() => taps.forEach((s) => s.close()));
  const tap = async (kind: 'audio' | 'video', producerId: string): Promise<void> => {
    const sock = dgram.createSocket('udp4');
    taps.push(sock);
    // Our packets are 92 or 120 bytes; the worker's RTCP reports are shorter.
    sock.on('message', (m) => {
      if (m.length >= 92) received[kind]++;
    });
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    const { port } = sock.address();
    await edge('c2').room(M)!.createTap({ producerId, ip: '127.0.0.1', port, rtcpPort: port });
  };
  await mics.get('site-3')!.resume();
  loud = 'site-3';
  await until(
    'the core names site-3 the speaker',
    async () => (edge('core').room(M)!.activeSpeakerSiteId === 'site-3' ? true : null),
    30_000,
  );
  const [audio3, video3] = await until("site-3's microphone and camera announced at c2", async () => {
    const a = announced('c2', 'site-3', 'audio');
    const v = announced('c2', 'site-3', 'video');
    return a && v && !a.paused && !v.paused ? [a, v] : null;
  });
  t.equal(audio3.via, 'core', 'they came to c2 from the core');
  await tap('audio', audio3.id);
  await tap('video', video3.id);
  await until(
    "site-3's packets leaving c2",
    async () => (received.audio >= 10 && received.video >= 5 ? true : null),
    30_000,
  );
  t.ok(received.audio >= 10, `${received.audio} packets of site-3's microphone left c2's tap`);
  t.ok(received.video >= 5, `${received.video} packets of site-3's camera left c2's tap`);
  const roster = await until('the roster at c2 says site-3 speaks', async () =>
    rosterAt('c2').find((e) => e.siteId === 'site-3' && e.mic),
  );
  t.ok(roster.mic, "site-3's microphone is open in c2's roster");
  t.same(streamsAt('c1', 'site-2'), [], 'site-2, silent and not shown, is still not announced at c1');

  // ---- a warm room: heard while site-3 holds the floor, announced held back; named, it resumes ----
  await mics.get('site-2')!.resume();
  hum = 'site-2';
  const warm = await until("site-2's camera announced, held back, at c1", async () => {
    const v = announced('c1', 'site-2', 'video');
    return v?.paused ? v : null;
  });
  t.equal(edge('core').room(M)!.activeSpeakerSiteId, 'site-3', 'site-3 still speaks: site-2 is heard, not named');
  t.ok(announced('c1', 'site-2', 'audio'), "site-2's microphone is announced at c1 too");
  // site-3 stops: the gate names the room it still hears, whose streams were announced already.
  loud = null;
  await until(
    'the core names site-2',
    async () => (edge('core').room(M)!.activeSpeakerSiteId === 'site-2' ? true : null),
    30_000,
  );
  await until("site-2's camera flowing at c1", async () =>
    announced('c1', 'site-2', 'video')?.paused === false ? true : null,
  );
  t.equal(announced('c1', 'site-2', 'video')?.id, warm.id, 'the same stream, resumed: not announced anew');
});

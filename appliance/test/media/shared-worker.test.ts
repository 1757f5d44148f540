// Several edges of one meeting in one process, on one mediasoup worker: a
// stream has its own producer id at every edge (link/bridge.ts maps the id the
// peer announced it under to the local one), so a worker that holds two edges'
// copies of one stream never sees an id twice. Each edge's transports take its
// own port range on the shared worker. Media crosses two links:
//
//   c1 (leaf) -> core (host) -> c2 (leaf), all three on the same worker.
//
// Real workers, real cascade links over HTTP signalling; nothing is timed.
import dgram from 'node:dgram';
import t from 'tap';
import { pino } from 'pino';
import type { MediaMeeting, MediaPlan } from '@diemcau/shared';
import { MediaWorkers, ingestRtpParameters } from '../../src/media/adapter/index.js';
import { loadEdgeConfig, peerLimits } from '../../src/media/config.js';
import { Edge } from '../../src/media/edge.js';
import { SignalServer } from '../../src/media/server.js';
import { token, until } from './helpers.js';

const M = 'm-shared';
// Ports apart from the other media tests': the pool's slice, then one range per edge.
const base = 37000 + (process.pid % 20) * 100;
const log = pino({ level: 'silent' });
const limits = peerLimits(
  loadEdgeConfig({ DIEMCAU_EDGE_ID: 'x', DIEMCAU_EDGE_ADMIN_TOKEN: 'a'.repeat(24), DIEMCAU_EDGE_HARDWARE: 'none' }),
);

t.test(
  'two edges linked on one shared worker: each has its own id for a stream, and RTP crosses the links',
  async (t) => {
    const pool = await MediaWorkers.start({ rtcMinPort: base, rtcMaxPort: base + 19, workers: 1, logLevel: 'none' });
    t.teardown(() => pool.close());
    const ranges = {
      core: { min: base + 20, max: base + 39 },
      c1: { min: base + 40, max: base + 59 },
      c2: { min: base + 60, max: base + 79 },
    };
    const start = async (edgeId: keyof typeof ranges): Promise<Edge> => {
      const edge = await Edge.start({
        edgeId,
        role: edgeId === 'core' ? 'core' : 'site',
        listen: { listenIp: '127.0.0.1' },
        capture: null,
        ffmpegBin: 'ffmpeg',
        worker: { shared: pool, ports: ranges[edgeId] },
        log,
        limits,
        tapAllow: '127.0.0.1',
      });
      t.teardown(() => edge.close());
      return edge;
    };
    const [core, c1, c2] = [await start('core'), await start('c1'), await start('c2')];
    const server = new SignalServer({
      edge: core,
      adminToken: token() + token(),
      joinToken: token() + token(),
      host: '127.0.0.1',
      port: 0,
      log,
    });
    t.teardown(() => server.close());
    const url = await server.listen();
    const linkToken = token() + token();

    const common = {
      title: M,
      chairSiteId: 'site-1',
      floorSiteId: null,
      rollCallSiteId: null,
      mutedAll: false,
      state: 'live' as const,
    };
    const leaf = (edgeId: string, siteId: string): MediaPlan => ({
      v: 1,
      revision: 1,
      edgeId,
      meetings: [
        {
          ...common,
          meetingId: M,
          role: 'leaf',
          upstream: { edgeId: 'core', signalUrl: url, linkToken },
          acceptToken: null,
          downstream: [],
          localSiteId: siteId,
        },
      ],
    });
    const host: MediaMeeting = {
      ...common,
      meetingId: M,
      role: 'host',
      upstream: null,
      acceptToken: linkToken,
      localSiteId: null,
      downstream: [
        { edgeId: 'c1', addresses: ['127.0.0.1'], siteIds: ['site-1'] },
        { edgeId: 'c2', addresses: ['127.0.0.1'], siteIds: ['site-2'] },
      ],
    };
    t.same(await core.applyPlan({ v: 1, revision: 1, edgeId: 'core', meetings: [host] }), { ok: true });
    t.same(await c1.applyPlan(leaf('c1', 'site-1')), { ok: true });
    t.same(await c2.applyPlan(leaf('c2', 'site-2')), { ok: true });

    const pid = pool.pids[0];
    for (const e of [core, c1, c2])
      t.same(e.room(M)!.router.workerPids, [pid], `${e.edgeId}'s router is on the one shared worker`);
    t.same(
      pool.placement()[0]!.meetingIds,
      ['c1/m-shared', 'c2/m-shared', 'core/m-shared'],
      "the pool holds each edge's meeting apart",
    );

    // c1's room: a microphone (open) and a camera, as the local ingest would make them.
    const room1 = c1.room(M)!;
    const input = await room1.router.createPlainIn('127.0.0.1');
    t.ok(
      input.tuple.port >= ranges.c1.min && input.tuple.port <= ranges.c1.max,
      `c1's transport takes c1's ports (${input.tuple.port})`,
    );
    const ssrc = 0x51a7ed01;
    const info = { siteId: 'site-1', originEdgeId: 'c1' };
    const audio = await input.produce({
      kind: 'audio',
      rtpParameters: ingestRtpParameters('audio', 'vp8', ssrc, 'c1'),
      info,
    });
    const video = await input.produce({
      kind: 'video',
      rtpParameters: ingestRtpParameters('video', 'vp8', ssrc + 1, 'c1'),
      info,
    });
    room1.addStream(audio, null);
    room1.addStream(video, null);

    const audioAt = async (e: Edge) =>
      until(
        `site-1's microphone at ${e.edgeId}`,
        async () =>
          e
            .room(M)
            ?.listStreams()
            .find((s) => s.siteId === 'site-1' && s.kind === 'audio' && s.via !== null) ?? null,
        30_000,
      );
    const [atCore, atC2] = [await audioAt(core), await audioAt(c2)];
    const ids = [audio.id, atCore.id, atC2.id];
    t.equal(new Set(ids).size, 3, `one stream, three producers on one worker, three ids (${ids.join(', ')})`);
    t.same([atCore.via, atC2.via], ['c1', 'core'], 'it came to the core from c1, and to c2 from the core');
    t.same([atCore.originEdgeId, atC2.originEdgeId], ['c1', 'c1'], 'its origin travels with it');
    const dumps = await Promise.all([core, c1, c2].map(async (e) => (await e.dump()).rooms[0]!.producerIds));
    t.equal(new Set(dumps.flat()).size, dumps.flat().length, 'no producer id is on two edges');

    // RTP sent into c1 leaves c2 (tap at c2, plain RTP out).
    const sink = dgram.createSocket('udp4');
    t.teardown(() => sink.close());
    let received = 0;
    // Our packets are 92 bytes; the worker's RTCP reports are shorter.
    sink.on('message', (m) => {
      if (m.length >= 92) received++;
    });
    await new Promise<void>((r) => sink.bind(0, '127.0.0.1', () => r()));
    await c2
      .room(M)!
      .createTap({ producerId: atC2.id, ip: '127.0.0.1', port: sink.address().port, rtcpPort: sink.address().port });
    const sender = dgram.createSocket('udp4');
    t.teardown(() => sender.close());
    let seq = 0;
    await until(
      'RTP from c1 at c2',
      async () => {
        for (let i = 0; i < 5; i++) {
          const p = Buffer.alloc(92);
          p[0] = 0x80;
          p[1] = 100;
          p.writeUInt16BE(seq & 0xffff, 2);
          p.writeUInt32BE((seq * 960) >>> 0, 4);
          p.writeUInt32BE(ssrc, 8);
          seq++;
          sender.send(p, input.tuple.port, '127.0.0.1');
        }
        return received >= 10 ? true : null;
      },
      30_000,
    );
    t.ok(received >= 10, `${received} packets of c1's microphone left c2's tap`);

    // Closing one edge leaves the shared worker to the others.
    await c2.close();
    t.same(pool.pids, [pid], 'the worker outlives an edge that shares it');
    t.notOk(core.room(M)!.router.closed, "the core's meeting is still open");
  },
);

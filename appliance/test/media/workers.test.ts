// One mediasoup worker per core (adapter/pool.ts): meetings spread over the
// workers, a meeting too big for one worker spans two with media flowing
// across, and a killed worker takes only its own meetings down, which come
// back from the plan. Real worker processes throughout; nothing is timed.
import dgram from 'node:dgram';
import t from 'tap';
import { pino } from 'pino';
import type { MediaMeeting, MediaPlan } from '@diemcau/shared';
import { MediaWorkers, ingestRtpParameters, type Outlet, type StreamInfo } from '../../src/media/adapter/index.js';
import { loadEdgeConfig, peerLimits } from '../../src/media/config.js';
import { Edge } from '../../src/media/edge.js';
import { until } from './helpers.js';

const INFO: StreamInfo = { siteId: 'site-a', originEdgeId: 'core' };
// A range of ports per test, apart from worker.test.ts's.
let nextPorts = 35000 + (process.pid % 40) * 200;
const ports = (n: number): { rtcMinPort: number; rtcMaxPort: number } => {
  const min = nextPorts;
  nextPorts += n;
  return { rtcMinPort: min, rtcMaxPort: min + n - 1 };
};

function meeting(meetingId: string): MediaMeeting {
  return {
    meetingId,
    title: meetingId,
    role: 'host',
    upstream: null,
    acceptToken: null,
    downstream: [],
    localSiteId: null,
    chairSiteId: 'site-a',
    floorSiteId: null,
    rollCallSiteId: null,
    mutedAll: false,
    state: 'live',
  };
}

async function startEdge(t: { teardown(fn: () => unknown): void }, workers: number): Promise<Edge> {
  const cfg = loadEdgeConfig({
    DIEMCAU_EDGE_ID: 'core',
    DIEMCAU_EDGE_ROLE: 'core',
    DIEMCAU_EDGE_ADMIN_TOKEN: 'a'.repeat(24),
    DIEMCAU_EDGE_HARDWARE: 'none',
  });
  const edge = await Edge.start({
    edgeId: 'core',
    role: 'core',
    listen: { listenIp: '127.0.0.1' },
    capture: null,
    ffmpegBin: 'ffmpeg',
    worker: { ...ports(100), workers, logLevel: 'none' },
    log: pino({ level: 'silent' }),
    limits: peerLimits(cfg),
    tapAllow: '127.0.0.1',
  });
  t.teardown(() => edge.close());
  return edge;
}

/** Which worker pid each open room's (first) router is on. */
const where = (edge: Edge, ids: string[]): Map<string, number | undefined> =>
  new Map(ids.map((id) => [id, edge.room(id)?.router.workerPids[0]]));

t.test('an edge with two workers places meetings on the least-loaded one', async (t) => {
  const edge = await startEdge(t, 2);
  t.equal(edge.workerPids.length, 2, 'two worker processes');
  const ids = ['m1', 'm2', 'm3', 'm4'];
  const plan: MediaPlan = { v: 1, revision: 1, edgeId: 'core', meetings: ids.map(meeting) };
  t.same(await edge.applyPlan(plan), { ok: true });
  const placed = where(edge, ids);
  t.same(
    [...placed.values()].filter((p) => p === undefined),
    [],
    'every meeting is open',
  );
  const [a, b] = edge.workerPids;
  t.equal([...placed.values()].filter((p) => p === a).length, 2, 'two meetings on the first worker');
  t.equal([...placed.values()].filter((p) => p === b).length, 2, 'two on the second');
  const placement = edge.workerPlacement;
  t.same(
    placement.map((w) => w.meetingIds.length),
    [2, 2],
    'the pool reports the same placement',
  );
  t.ok(
    placement[0]!.ports.max < placement[1]!.ports.min,
    `disjoint port slices ${placement[0]!.ports.min}-${placement[0]!.ports.max} and ${placement[1]!.ports.min}-${placement[1]!.ports.max}`,
  );

  // Browsers of meetings on different workers get different WebRtcServer ports.
  const [onA, onB] = [ids.find((id) => placed.get(id) === a)!, ids.find((id) => placed.get(id) === b)!];
  const candidatePort = async (id: string): Promise<number> => {
    const port = await edge.room(id)!.router.createWebRtc({ listenIp: '127.0.0.1' });
    t.teardown(() => port.close());
    return (port.params.iceCandidates as Array<{ port: number }>)[0]!.port;
  };
  const [pa, pb] = [await candidatePort(onA), await candidatePort(onB)];
  t.ok(
    pa >= placement[0]!.ports.min && pa <= placement[0]!.ports.max,
    `the first worker's browsers use its slice (${pa})`,
  );
  t.ok(
    pb >= placement[1]!.ports.min && pb <= placement[1]!.ports.max,
    `the second worker's browsers use its slice (${pb})`,
  );
});

t.test(
  'a meeting past spanAt spans a second worker, and RTP sent into one worker leaves through the other',
  async (t) => {
    const pool = await MediaWorkers.start({ ...ports(100), workers: 2, spanAt: 3, logLevel: 'none' });
    t.teardown(() => pool.close());
    const router = await pool.createRouter('big');
    const input = await router.createPlainIn('127.0.0.1');
    const ssrc = 0x5eed0001;
    const stream = await input.produce({
      kind: 'audio',
      rtpParameters: ingestRtpParameters('audio', 'vp8', ssrc, 'workers-test'),
      info: INFO,
    });
    t.equal(router.workerPids.length, 1, 'a small meeting has one router');

    // Receivers until the meeting's first router is full (each is a transport and a consumer).
    const sinks: dgram.Socket[] = [];
    t.teardown(() => {
      for (const s of sinks) s.close();
    });
    const outlets: Array<{ outlet: Outlet; pid: number | undefined }> = [];
    const received: number[] = [];
    for (let i = 0; i < 4; i++) {
      const sink = dgram.createSocket('udp4');
      const rtcp = dgram.createSocket('udp4');
      sinks.push(sink, rtcp);
      await new Promise<void>((r) => sink.bind(0, '127.0.0.1', () => r()));
      await new Promise<void>((r) => rtcp.bind(0, '127.0.0.1', () => r()));
      received.push(0);
      sink.on('message', () => {
        received[i]!++;
      });
      const out = await router.createPlainOut('127.0.0.1');
      await out.connect({ ip: '127.0.0.1', port: sink.address().port, rtcpPort: rtcp.address().port });
      outlets.push({ outlet: await out.consume(stream.id, router.rtpCapabilities), pid: router.workerOf(out.id) });
    }
    const pids = router.workerPids;
    t.equal(pids.length, 2, 'the meeting now has a router on each worker');
    t.not(pids[0], pids[1], 'on two different worker processes');
    const placement = pool.placement();
    t.same(
      placement.map((w) => w.meetingIds),
      [['big'], ['big']],
      'both workers carry the meeting',
    );
    const dump = await router.dump();
    t.ok(
      dump.transportIds.length >= 6,
      `the loopback pipe between the workers is in the meeting's dump (${dump.transportIds.length} transports)`,
    );

    const sender = dgram.createSocket('udp4');
    t.teardown(() => sender.close());
    let seq = 0;
    const send = (): void => {
      const p = Buffer.alloc(92);
      p[0] = 0x80;
      p[1] = 100;
      p.writeUInt16BE(seq & 0xffff, 2);
      p.writeUInt32BE(seq * 960, 4);
      p.writeUInt32BE(ssrc, 8);
      seq++;
      sender.send(p, input.tuple.port, '127.0.0.1');
    };
    await until(
      'RTP at every receiver, on both workers',
      async () => {
        for (let i = 0; i < 5; i++) send();
        return received.every((n) => n >= 10) ? true : null;
      },
      20_000,
    );
    t.ok(
      received.every((n) => n >= 10),
      `packets at each receiver: ${received.join(', ')}`,
    );
    t.equal(outlets[0]!.pid, pids[0], "the first receiver is on the meeting's first worker");
    const far = outlets.filter((o) => o.pid === pids[1]);
    t.ok(far.length >= 1, `${far.length} receivers on the second worker`);
    for (const o of far) {
      const st = await o.outlet.stats();
      t.ok(st.packets >= 10, `a consumer on the second worker sent ${st.packets} packets`);
    }

    // Closing the meeting closes its router on the other worker too.
    router.close();
    await until(
      'the second worker empty',
      async () => (pool.placement().every((w) => w.meetingIds.length === 0) ? true : null),
      10_000,
    );
    t.same(
      pool.placement().map((w) => w.load),
      [0, 0],
      'no router, transport or consumer left on either worker',
    );
  },
);

t.test('cascade links made when a meeting starts spread over the workers by the streams they will carry', async (t) => {
  const pool = await MediaWorkers.start({ ...ports(100), workers: 2, spanAt: 8, logLevel: 'none' });
  t.teardown(() => pool.close());
  const router = await pool.createRouter('links');
  // Three links, each to carry 8 streams out: none has a consumer yet.
  const links = [];
  for (let i = 0; i < 3; i++) links.push(await router.createPipe({ listenIp: '127.0.0.1' }, 8));
  const [a, b] = pool.pids as [number, number];
  t.equal(router.workerOf(links[0]!.id), a, "the first link on the meeting's first worker");
  t.equal(
    router.workerOf(links[1]!.id),
    b,
    "the second on the other worker: the first is full with the first link's streams",
  );
  t.same(router.workerPids.sort(), [a, b].sort(), 'the meeting spans both workers before any stream flows');
});

t.test('a killed worker takes only its meetings down; they come back from the plan', async (t) => {
  const edge = await startEdge(t, 2);
  const ids = ['k1', 'k2', 'k3', 'k4'];
  await edge.applyPlan({ v: 1, revision: 1, edgeId: 'core', meetings: ids.map(meeting) });
  const [victim, survivor] = edge.workerPids as [number, number];
  const before = where(edge, ids);
  const doomed = ids.filter((id) => before.get(id) === victim);
  const spared = ids.filter((id) => before.get(id) === survivor);
  t.equal(doomed.length, 2, `meetings ${doomed.join(', ')} on worker ${victim}`);
  const sparedRooms = new Map(spared.map((id) => [id, edge.room(id)!]));

  process.kill(victim, 'SIGKILL');
  await until(
    "the killed worker's meetings open again",
    async () => {
      const now = where(edge, doomed);
      return [...now.values()].every((p) => p !== undefined && p !== victim) ? true : null;
    },
    30_000,
  );
  for (const id of doomed) {
    const room = edge.room(id)!;
    t.notOk(room.isClosed, `${id} is open again`);
    t.not(room.router.workerPids[0], victim, `${id} on a live worker (${room.router.workerPids[0]})`);
  }
  for (const [id, room] of sparedRooms) {
    t.equal(edge.room(id), room, `${id} is the same room as before`);
    t.notOk(room.isClosed || room.router.closed, `${id} was never closed`);
    t.equal(room.router.workerPids[0], survivor, `${id} still on worker ${survivor}`);
  }
  await until(
    "a new worker in the dead one's place",
    async () => (edge.workerPids.length === 2 && !edge.workerPids.includes(victim) ? true : null),
    30_000,
  );
  t.equal(edge.workerPids.length, 2, `two workers again (${edge.workerPids.join(', ')})`);
  const dump = await edge.dump();
  t.same(dump.rooms.map((r) => r.meetingId).sort(), ids, 'every meeting of the plan is open');
});

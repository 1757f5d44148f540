// Every browser peer is bounded: peers per token and on the whole edge,
// transports, producers and consumers per peer; past a limit the edge answers
// 429 with the limit's name, counts and logs it, and keeps serving; closing a
// peer gives its share back; a peer that connects no transport is reaped.
// HTTP-level, against a real edge process with a real mediasoup worker (and
// its simulated room's camera and microphone to consume).
import http from 'node:http';
import net from 'node:net';
import t from 'tap';
import type { MediaPlan } from '@diemcau/shared';
import { loadEdgeConfig } from '../../src/media/config.js';
import { spawnEdge, until, type EdgeProc } from './helpers.js';

const M = 'm-lim';
const plan = (edgeId: string, localSiteId: string | null): MediaPlan => ({
  v: 1,
  revision: 1,
  edgeId,
  meetings: [
    {
      meetingId: M,
      title: 'giao ban',
      role: 'host',
      upstream: null,
      acceptToken: null,
      localSiteId,
      chairSiteId: 'xa-a',
      floorSiteId: null,
      rollCallSiteId: null,
      mutedAll: false,
      state: 'live',
    },
  ],
});

interface Reply<T> {
  status: number;
  body: T;
}
type Err = { code?: string; reason?: string; message?: string };

function client(edge: EdgeProc, tok: string) {
  return async <T = Err>(method: string, p: string, body?: unknown): Promise<Reply<T>> => {
    const r = await fetch(`${edge.url}/media/v1/meetings/${M}${p}`, {
      method,
      headers: {
        authorization: `Bearer ${tok}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await r.text();
    return { status: r.status, body: (text ? JSON.parse(text) : null) as T };
  };
}

// What a browser's DTLS client would send; the worker takes it without a handshake.
const dtls = {
  role: 'client',
  fingerprints: [{ algorithm: 'sha-256', value: Array.from({ length: 32 }, () => 'AB').join(':') }],
};
const opus = (ssrc: number) => ({
  codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 }],
  encodings: [{ ssrc }],
});

t.test('peers, transports, producers and consumers are capped per token and per peer', async (t) => {
  const edge = await spawnEdge({
    edgeId: 'e-lim',
    role: 'site',
    hardware: 'simulated',
    env: {
      DIEMCAU_EDGE_MAX_PEERS: '3',
      DIEMCAU_EDGE_MAX_PEERS_PER_TOKEN: '2',
      DIEMCAU_EDGE_MAX_TRANSPORTS_PER_PEER: '2',
      DIEMCAU_EDGE_MAX_PRODUCERS_PER_PEER: '1',
      DIEMCAU_EDGE_MAX_CONSUMERS_PER_PEER: '1',
      DIEMCAU_EDGE_MAX_CONSUMERS_PER_TOKEN: '1',
      DIEMCAU_EDGE_PEER_IDLE_MS: '600000',
    },
  });
  t.teardown(() => edge.kill());
  await edge.plan(plan('e-lim', 'xa-a'));
  const join = client(edge, edge.joinToken);
  const admin = client(edge, edge.adminToken);

  type Joined = { peerId: string; rtpCapabilities: unknown };
  const p1 = await join<Joined>('POST', '/peers', {});
  const p2 = await join<Joined>('POST', '/peers', {});
  t.same([p1.status, p2.status], [201, 201], 'two peers on the join token');
  const p3 = await join('POST', '/peers', {});
  t.match(
    p3,
    { status: 429, body: { code: 'APPL_ERR_MEDIA_LIMIT', reason: 'peers-per-token' } },
    'a third on the same token is refused',
  );
  t.match(p3.body.message, /limit 2/, 'the error names the limit');
  const a1 = await admin<Joined>('POST', '/peers', {});
  t.equal(a1.status, 201, 'another token has its own share');
  t.match(
    await admin('POST', '/peers', {}),
    { status: 429, body: { reason: 'peers-total' } },
    'until the edge-wide cap',
  );

  // Closing a peer gives its share back.
  t.equal((await join('DELETE', `/peers/${p2.body.peerId}`)).status, 204);
  const p4 = await join<Joined>('POST', '/peers', {});
  t.equal(p4.status, 201, 'a closed peer frees its place');

  // Transports: as many as the limit, even when asked for at once.
  const peer = `/peers/${p1.body.peerId}`;
  const burst = await Promise.all([1, 2, 3, 4].map(() => join<{ id: string }>('POST', `${peer}/transports`, {})));
  t.same(burst.map((r) => r.status).sort(), [201, 201, 429, 429], 'a burst of four transport requests gets two');
  t.ok(burst.filter((r) => r.status === 429).every((r) => (r.body as Err).reason === 'transports-per-peer'));
  const [send, recv] = burst.filter((r) => r.status === 201).map((r) => r.body.id);

  // Producers.
  t.equal(
    (await join('POST', `${peer}/produce`, { transportId: send, kind: 'audio', rtpParameters: opus(1111) })).status,
    201,
    'one producer',
  );
  t.match(
    await join('POST', `${peer}/produce`, { transportId: send, kind: 'audio', rtpParameters: opus(2222) }),
    { status: 429, body: { reason: 'producers-per-peer' } },
    'a second is refused',
  );

  // Consumers: the room's simulated camera and microphone.
  const streams = await until('the room streams', async () => {
    const s = (await join<Array<{ id: string; siteId: string }>>('GET', `${peer}/streams`)).body.filter(
      (x) => x.siteId === 'xa-a',
    );
    return s.length === 2 ? s : null;
  });
  const caps = p1.body.rtpCapabilities;
  t.equal(
    (await join('POST', `${peer}/consume`, { transportId: recv, producerId: streams[0]!.id, rtpCapabilities: caps }))
      .status,
    201,
    'one consumer',
  );
  t.match(
    await join('POST', `${peer}/consume`, { transportId: recv, producerId: streams[1]!.id, rtpCapabilities: caps }),
    { status: 429, body: { reason: 'consumers-per-peer' } },
    'a second is refused',
  );
  t.match(
    await join('POST', `${peer}/consume`, { transportId: recv, producerId: streams[0]!.id, rtpCapabilities: caps }),
    { status: 409, body: { reason: 'consumer-duplicate' } },
    'so is the same stream again (a consumer flood)',
  );
  // The token's peers together: p4 may hold no consumer while p1 holds the token's one.
  const other = `/peers/${p4.body.peerId}`;
  const otherT = await join<{ id: string }>('POST', `${other}/transports`, {});
  const consumeOther = () =>
    join('POST', `${other}/consume`, {
      transportId: otherT.body.id,
      producerId: streams[1]!.id,
      rtpCapabilities: caps,
    });
  t.match(
    await consumeOther(),
    { status: 429, body: { reason: 'consumers-per-token' } },
    'consumers are capped per token too',
  );

  const refusals = await edge.api<{ byReason: Record<string, number>; byCode: Record<string, number>; peers: number }>(
    'GET',
    '/media/v1/refusals',
  );
  t.match(
    refusals.body.byReason,
    {
      'peers-per-token': 1,
      'peers-total': 1,
      'transports-per-peer': 2,
      'producers-per-peer': 1,
      'consumers-per-peer': 1,
      'consumer-duplicate': 1,
      'consumers-per-token': 1,
    },
    'each refusal counted by reason',
  );
  t.equal(refusals.body.byCode['APPL_ERR_MEDIA_LIMIT'], 7, 'and by code');
  t.equal(refusals.body.peers, 3, 'three peers held');
  t.ok(
    edge.logs.some((l) => l.includes('"reason":"consumers-per-peer"')),
    'refusals are logged with their reason',
  );

  // Closing the peer frees its transports in the worker too.
  t.equal((await join('DELETE', peer)).status, 204);
  t.equal((await consumeOther()).status, 201, 'a closed peer gives its consumers back to the token');
  t.equal((await join('DELETE', other)).status, 204);
  const dump = await edge.dump();
  t.equal(dump.rooms[0]!.transportIds.length, 2, "only the room's own ingest transports are left");
  t.equal((await edge.api('GET', '/media/v1/health')).status, 200, 'the edge kept serving');
});

t.test('a peer that connects no transport in time is reaped', async (t) => {
  const edge = await spawnEdge({
    edgeId: 'e-idle',
    role: 'core',
    env: { DIEMCAU_EDGE_PEER_IDLE_MS: '1500', DIEMCAU_EDGE_MAX_PEERS_PER_TOKEN: '2', DIEMCAU_EDGE_MAX_PEERS: '2' },
  });
  t.teardown(() => edge.kill());
  await edge.plan(plan('e-idle', null));
  const join = client(edge, edge.joinToken);
  const idle = await join<{ peerId: string }>('POST', '/peers', {});
  const live = await join<{ peerId: string }>('POST', '/peers', {});
  const tr = await join<{ id: string }>('POST', `/peers/${live.body.peerId}/transports`, {});
  t.equal(
    (await join('POST', `/peers/${live.body.peerId}/transports/${tr.body.id}/connect`, { dtlsParameters: dtls }))
      .status,
    204,
    'one peer connects',
  );
  t.match(await join('POST', '/peers', {}), { status: 429 }, 'the token is full');
  const reaped = await until(
    'the idle peer reaped',
    async () => {
      const r = await edge.api<{ byReason: Record<string, number>; peers: number }>('GET', '/media/v1/refusals');
      return r.body.byReason['peer-idle'] ? r.body : null;
    },
    20_000,
  );
  t.same([reaped.byReason['peer-idle'], reaped.peers], [1, 1], 'the reaping is counted, one peer left');
  t.equal((await join('DELETE', `/peers/${idle.body.peerId}`)).status, 404, 'the peer that never connected is gone');
  t.equal((await join('POST', '/peers', {})).status, 201, 'and its place is free again');
  t.equal((await join('DELETE', `/peers/${live.body.peerId}`)).status, 204, 'the connected peer was kept');
});

t.test('limits are settings validated at start', async (t) => {
  const base = { DIEMCAU_EDGE_ID: 'e1', DIEMCAU_EDGE_ADMIN_TOKEN: 'a'.repeat(20) };
  const cfg = loadEdgeConfig(base);
  t.match(
    cfg,
    {
      maxPeers: 200,
      maxPeersPerToken: 50,
      maxTransportsPerPeer: 4,
      maxProducersPerPeer: 4,
      maxConsumersPerPeer: 512,
      maxConsumersPerToken: 2048,
      peerIdleMs: 30_000,
    },
    'defaults',
  );
  t.equal(cfg.joinToken, undefined, 'no fixed join token unless set: browsers come with a fleet-signed join link');
  t.throws(() => loadEdgeConfig({ ...base, DIEMCAU_EDGE_JOIN_TOKEN: 'a'.repeat(20) }), /must differ/);
  t.throws(
    () => loadEdgeConfig({ ...base, DIEMCAU_EDGE_MAX_PEERS: '0', DIEMCAU_EDGE_PEER_IDLE_MS: 'soon' }),
    /DIEMCAU_EDGE_MAX_PEERS[\s\S]*DIEMCAU_EDGE_PEER_IDLE_MS/,
    'every bad value listed',
  );
  t.throws(
    () => loadEdgeConfig({ ...base, DIEMCAU_EDGE_MAX_PEERS: '10', DIEMCAU_EDGE_MAX_PEERS_PER_TOKEN: '20' }),
    /PER_TOKEN is above/,
  );
  t.throws(
    () => loadEdgeConfig({ ...base, DIEMCAU_EDGE_RTC_MIN_PORT: '40000', DIEMCAU_EDGE_RTC_MAX_PORT: '40099' }),
    /one join token could take them all/,
    'a join token may not hold more than half the RTP ports',
  );
  // 50 peers x 4 transports: within half of 1000 ports, not within half of one worker's 250.
  const wide = { ...base, DIEMCAU_EDGE_RTC_MIN_PORT: '40000', DIEMCAU_EDGE_RTC_MAX_PORT: '40999' };
  t.equal(
    loadEdgeConfig({ ...wide, DIEMCAU_EDGE_WORKERS: '1' }).workers,
    1,
    'one worker: the token is held to half of the whole range',
  );
  t.throws(
    () => loadEdgeConfig({ ...wide, DIEMCAU_EDGE_WORKERS: '4' }),
    /half of one worker's 250 RTP ports/,
    "four workers: the token is held to half of one worker's slice",
  );
  t.throws(
    () => loadEdgeConfig({ ...base, DIEMCAU_EDGE_TAP_ALLOW: '127.0.0.1,not-an-address,10.0.0.0/99' }),
    /not-an-address, 10\.0\.0\.0\/99/,
  );
  t.throws(
    () => loadEdgeConfig({ ...base, DIEMCAU_EDGE_TLS_CERT: '/x.pem' }),
    /DIEMCAU_EDGE_TLS_KEY: required/,
    'half a TLS configuration',
  );
});

t.test('signalling sockets are capped per address', async (t) => {
  const edge = await spawnEdge({
    edgeId: 'e-conn',
    role: 'core',
    env: { DIEMCAU_EDGE_MAX_CONNECTIONS_PER_ADDRESS: '4' },
  });
  t.teardown(() => edge.kill());
  const { port } = new URL(edge.url);
  const open = (localAddress: string): Promise<net.Socket> =>
    new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port: Number(port), localAddress }, () => resolve(s));
      s.once('error', reject);
    });
  // Idle sockets from one address (127.0.0.2 stands for another host).
  const held: net.Socket[] = [];
  t.teardown(() => {
    for (const s of held) s.destroy();
  });
  for (let i = 0; i < 4; i++) held.push(await open('127.0.0.2'));
  const health = (localAddress: string): Promise<number> =>
    new Promise((resolve) => {
      const req = http.get(
        { host: '127.0.0.1', port: Number(port), path: '/media/v1/health', localAddress, agent: false },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.once('error', () => resolve(0));
      req.setTimeout(5000, () => req.destroy());
    });
  t.equal(await health('127.0.0.2'), 0, 'a fifth socket from that address is closed');
  t.equal(await health('127.0.0.1'), 200, 'another address is served');
  for (const s of held.splice(0)) s.destroy();
  t.equal(
    await until('the address served again', async () => ((await health('127.0.0.2')) === 200 ? 200 : null), 10_000),
    200,
    'once its sockets close',
  );
  const r = await edge.api<{ byReason: Record<string, number> }>('GET', '/media/v1/refusals');
  t.ok((r.body.byReason['connections-per-address'] ?? 0) >= 1, 'the refusal is counted');
});

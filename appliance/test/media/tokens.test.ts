// The edge's two tokens: the admin token never leaves the box (the kiosk's
// join URL carries the join token, made at random when none is configured),
// the join token opens only the browser-peer routes, and taps (plain RTP out)
// go only where the settings allow, and only with the admin token. HTTP-level,
// against a real edge process with a real mediasoup worker.
import t from 'tap';
import type { MediaPlan } from '@diemcau/shared';
import { edgeStartRefused, spawnEdge, tempDir, token } from './helpers.js';

const M = 'm-tok';
const plan = (edgeId: string): MediaPlan => ({
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
      localSiteId: null,
      chairSiteId: 'xa-a',
      floorSiteId: null,
      rollCallSiteId: null,
      mutedAll: false,
      state: 'live',
    },
  ],
});

t.test('with no join token configured, the kiosk never hands out the admin token', async (t) => {
  const dataDir = tempDir('diemcau-edge-tok-');
  // DIEMCAU_EDGE_JOIN_TOKEN empty: unset, as on a box whose edge.env does not name one.
  const edge = await spawnEdge({
    edgeId: 'e-tok',
    role: 'site',
    env: { DIEMCAU_EDGE_JOIN_TOKEN: '', DIEMCAU_DATA_DIR: dataDir },
  });
  t.teardown(() => edge.kill());
  await edge.plan(plan('e-tok'));
  const res = await fetch(`${edge.url}/kiosk/state`);
  const text = await res.text();
  t.equal(res.status, 200);
  t.notOk(text.includes(edge.adminToken), 'the kiosk state does not contain the admin token');
  const joinUrl = (JSON.parse(text) as { meeting: { joinUrl: string } | null }).meeting?.joinUrl ?? '';
  const tv = new URL(joinUrl, edge.url).searchParams.get('token') ?? '';
  t.ok(tv.length >= 16, "it carries a generated token of the TV's own");
  t.not(tv, edge.adminToken);

  const as =
    (tok: string) =>
    async (method: string, p: string, body?: unknown): Promise<number> => {
      const r = await fetch(edge.url + p, {
        method,
        headers: {
          authorization: `Bearer ${tok}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      await r.text();
      return r.status;
    };
  const browser = as(tv);
  t.equal(await browser('POST', `/media/v1/meetings/${M}/peers`, {}), 201, "the TV's token opens a browser peer");
  const adminOnly: Array<[string, string, unknown?]> = [
    ['PUT', '/media/v1/plan', { ...plan('e-tok'), revision: 2 }],
    ['GET', '/media/v1/stats'],
    ['GET', '/media/v1/dump'],
    ['GET', '/media/v1/refusals'],
    ['GET', `/media/v1/meetings/${M}/streams`],
    ['POST', `/media/v1/meetings/${M}/taps`, { producerId: 'x', ip: '127.0.0.1', port: 5004 }],
    ['DELETE', `/media/v1/meetings/${M}/taps/x`],
  ];
  for (const [method, p, body] of adminOnly)
    t.equal(await browser(method, p, body), 401, `the TV's token cannot ${method} ${p}`);
  t.equal(await browser('POST', `/media/v1/meetings/${M}/links`, { v: 1 }), 401, 'nor link as an edge');
});

t.test('the join token opens browser peers only, and the TV keeps its own share', async (t) => {
  const dataDir = tempDir('diemcau-edge-tok-');
  const edge = await spawnEdge({
    edgeId: 'e-tok2',
    role: 'site',
    env: { DIEMCAU_DATA_DIR: dataDir, DIEMCAU_EDGE_MAX_PEERS_PER_TOKEN: '2' },
  });
  t.teardown(() => edge.kill());
  await edge.plan(plan('e-tok2'));
  const status = async (tok: string, method: string, p: string, body?: unknown): Promise<number> => {
    const r = await fetch(edge.url + p, {
      method,
      headers: {
        authorization: `Bearer ${tok}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    await r.text();
    return r.status;
  };
  for (const p of ['/media/v1/stats', '/media/v1/dump', '/media/v1/refusals', `/media/v1/meetings/${M}/streams`]) {
    t.equal(await status(edge.joinToken, 'GET', p), 401, `the join token cannot GET ${p}`);
  }
  t.equal(
    await status(edge.joinToken, 'POST', `/media/v1/meetings/${M}/taps`, {
      producerId: 'x',
      ip: '127.0.0.1',
      port: 5004,
    }),
    401,
    'nor open a tap',
  );
  t.equal(
    await status(edge.joinToken, 'PUT', '/media/v1/plan', { ...plan('e-tok2'), revision: 2 }),
    401,
    'nor change the plan',
  );
  // The room's laptops fill the join token's share ...
  t.same(
    [
      await status(edge.joinToken, 'POST', `/media/v1/meetings/${M}/peers`, {}),
      await status(edge.joinToken, 'POST', `/media/v1/meetings/${M}/peers`, {}),
      await status(edge.joinToken, 'POST', `/media/v1/meetings/${M}/peers`, {}),
    ],
    [201, 201, 429],
    'the join token holds its share, no more',
  );
  // ... and the TV still joins.
  const state = (await (await fetch(`${edge.url}/kiosk/state`)).json()) as { meeting: { joinUrl: string } };
  const tv = new URL(state.meeting.joinUrl, edge.url).searchParams.get('token')!;
  t.not(tv, edge.joinToken, "the TV's token is not the join token");
  t.equal(await status(tv, 'POST', `/media/v1/meetings/${M}/peers`, {}), 201, 'the TV joins with its own share');
});

t.test('the edge refuses to start with a join token equal to the admin token', async (t) => {
  const same = token();
  const { code, stderr } = await edgeStartRefused(t, {
    DIEMCAU_EDGE_ID: 'e-same',
    DIEMCAU_EDGE_ADMIN_TOKEN: same,
    DIEMCAU_EDGE_JOIN_TOKEN: same,
  });
  t.equal(code, 2, 'exits with a config error');
  t.match(stderr, /DIEMCAU_EDGE_JOIN_TOKEN must differ from DIEMCAU_EDGE_ADMIN_TOKEN/);
  t.notOk(stderr.includes(same), 'without printing the token');
});

t.test('taps go only where the settings allow, and only with the admin token', async (t) => {
  const edge = await spawnEdge({ edgeId: 'e-tap', role: 'core' });
  t.teardown(() => edge.kill());
  await edge.plan(plan('e-tap'));
  const taps = `/media/v1/meetings/${M}/taps`;
  const tap = (ip: string) =>
    edge.api<{ code?: string; reason?: string }>('POST', taps, { producerId: 'no-such-stream', ip, port: 5004 });
  for (const [ip, reason] of [
    ['10.0.0.5', 'tap-target-not-allowed'],
    ['192.168.1.20', 'tap-target-not-allowed'],
    ['0.0.0.0', 'tap-target-unspecified'],
    ['::', 'tap-target-unspecified'],
    ['239.0.0.1', 'tap-target-multicast'],
    ['255.255.255.255', 'tap-target-broadcast'],
  ] as const) {
    t.match(await tap(ip), { status: 403, body: { code: 'APPL_ERR_MEDIA_FORBIDDEN', reason } }, `no tap to ${ip}`);
  }
  // Loopback passes the address check (the stream is then looked up: none here).
  t.match(
    await tap('127.0.0.1'),
    { status: 404, body: { code: 'APPL_ERR_MEDIA_NOT_FOUND' } },
    'loopback is allowed by default',
  );
  t.match(await tap('::1'), { status: 404 }, 'IPv6 loopback too');
  const counted = await edge.api<{ byReason: Record<string, number> }>('GET', '/media/v1/refusals');
  t.equal(counted.body.byReason['tap-target-not-allowed'], 2, 'refused taps are counted by reason');

  // An operator may allow a recorder's address explicitly.
  const wide = await spawnEdge({
    edgeId: 'e-tap2',
    role: 'core',
    env: { DIEMCAU_EDGE_TAP_ALLOW: '127.0.0.1,10.20.0.0/24' },
  });
  t.teardown(() => wide.kill());
  await wide.plan(plan('e-tap2'));
  t.match(
    await wide.api('POST', taps, { producerId: 'no-such-stream', ip: '10.20.0.7', port: 5004 }),
    { status: 404 },
    'a configured subnet is allowed',
  );
  t.match(
    await wide.api('POST', taps, { producerId: 'no-such-stream', ip: '10.20.1.7', port: 5004 }),
    { status: 403 },
    'its neighbour is not',
  );
  t.match(
    await wide.api('POST', taps, { producerId: 'no-such-stream', ip: '::1', port: 5004 }),
    { status: 403 },
    'nor what the setting leaves out',
  );
});

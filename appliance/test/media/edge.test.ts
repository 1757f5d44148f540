// One edge program as a user starts it: its signalling API refuses bad input
// with stable codes and keeps running; a dead mediasoup worker is replaced and
// the meeting comes back, links included.
import t from 'tap';
import { node, plansFor, spawnEdge, token, until, type EdgeProc } from './helpers.js';

t.test('signalling API refuses bad input and keeps running', async (t) => {
  const core = await spawnEdge({ edgeId: 'core', role: 'core' });
  t.teardown(() => core.kill());
  const nCore = node(core, null, null);
  const [plan] = [...plansFor('m1', [nCore], 'site-x').values()];
  await core.plan(plan!);

  const raw = async (method: string, path: string, headers: Record<string, string>, body?: string) => {
    const res = await fetch(core.url + path, { method, headers, ...(body === undefined ? {} : { body }) });
    return {
      status: res.status,
      body: (await res.json().catch(() => null)) as { code?: string; edgeId?: string } | null,
    };
  };
  const admin = { authorization: `Bearer ${core.adminToken}`, 'content-type': 'application/json' };

  t.equal((await raw('GET', '/media/v1/health', {})).body?.edgeId, 'core', 'health needs no token');
  t.same(await raw('GET', '/media/v1/stats', {}), {
    status: 401,
    body: { code: 'APPL_ERR_MEDIA_UNAUTHORIZED', message: 'missing or invalid media token: admin token required' },
  });
  t.equal(
    (await raw('GET', '/media/v1/stats', { authorization: 'Bearer nope' })).status,
    401,
    'a wrong admin token is refused',
  );
  t.equal((await raw('PUT', '/media/v1/plan', admin, '{not json')).body?.code, 'PROTO_ERR_NOT_JSON');
  t.equal(
    (await raw('PUT', '/media/v1/plan', admin, JSON.stringify({ ...plan, v: 2 }))).body?.code,
    'PROTO_ERR_VERSION',
  );
  t.equal(
    (await raw('PUT', '/media/v1/plan', admin, JSON.stringify({ ...plan, meetings: 'x' }))).body?.code,
    'PROTO_ERR_SCHEMA',
  );
  t.equal(
    (await raw('PUT', '/media/v1/plan', admin, JSON.stringify({ ...plan, edgeId: 'other' }))).status,
    409,
    'a plan for another edge is refused',
  );
  t.equal(
    (await raw('PUT', '/media/v1/plan', admin, JSON.stringify({ ...plan, revision: 0 }))).status,
    409,
    'an older plan is refused',
  );
  t.equal((await raw('PUT', '/media/v1/plan', admin, 'x'.repeat(300 * 1024))).body?.code, 'PROTO_ERR_TOO_LARGE');

  const offer = JSON.stringify({
    v: 1,
    edgeId: 'cA',
    ip: '127.0.0.1',
    port: 40000,
    srtp: { cryptoSuite: 'AES_CM_128_HMAC_SHA1_80', keyBase64: 'a'.repeat(40) },
  });
  // The core is the host: nobody links below it without its accept token.
  t.equal(
    (await raw('POST', '/media/v1/meetings/m1/links', { authorization: `Bearer ${token()}` }, offer)).status,
    401,
    'a link without the meeting token is refused',
  );
  t.equal(
    (await raw('POST', '/media/v1/meetings/nope/links', { authorization: `Bearer ${token()}` }, offer)).body?.code,
    'APPL_ERR_MEDIA_NOT_FOUND',
  );
  t.equal(
    (
      await raw(
        'POST',
        '/media/v1/meetings/m1/taps',
        admin,
        JSON.stringify({ producerId: 'nope', ip: '127.0.0.1', port: 40000 }),
      )
    ).body?.code,
    'APPL_ERR_MEDIA_NOT_FOUND',
  );
  t.equal((await raw('GET', '/media/v1/nothing', {})).status, 404);
  t.equal((await raw('DELETE', '/media/v1/health', {})).status, 404, 'a wrong method is refused too');

  const health = await raw('GET', '/media/v1/health', {});
  t.equal(health.status, 200, 'still running');
  t.equal((await core.dump()).rooms.length, 1, 'and still running the meeting');
});

t.test('a dead worker is replaced and the meeting comes back', async (t) => {
  const edges: EdgeProc[] = [];
  t.teardown(async () => {
    await Promise.all(edges.map((e) => e.kill()));
  });
  const core = await spawnEdge({ edgeId: 'core', role: 'core' });
  edges.push(core);
  const cA = await spawnEdge({ edgeId: 'cA', hardware: 'simulated' });
  edges.push(cA);
  const nCore = node(core, null, null);
  for (const [n, p] of plansFor('m1', [nCore, node(cA, 'site-a', nCore)], 'site-a')) await n.edge.plan(p);
  const before = await until('streams at core', async () =>
    (await core.streams('m1')).length === 2 ? core.streams('m1') : null,
  );

  process.kill(core.workerPid, 'SIGKILL');
  const health = await until('a new worker', async () => {
    const h = (await (await fetch(`${core.url}/media/v1/health`)).json()) as { workerPid: number };
    return h.workerPid && h.workerPid !== core.workerPid ? h : null;
  });
  t.not(health.workerPid, core.workerPid, 'the edge started a new worker');
  t.ok(
    core.logs.some((l) => l.includes('APPL_ERR_MEDIA') && l.includes('died')),
    'the death was logged as a typed error',
  );
  const after = await until('cA relinked to the new worker', async () => {
    const l = await core.streams('m1');
    return l.length === 2 ? l : null;
  });
  // The core has its own id for each stream (link/bridge.ts), new on the new worker; the streams are cA's same two.
  const what = (l: Array<{ siteId: string; kind: string; originEdgeId: string }>) =>
    l.map((s) => `${s.originEdgeId}/${s.siteId}/${s.kind}`).sort();
  t.same(what(after), what(before), "cA's same streams are back at the core");
  t.notOk(
    after.some((s) => before.some((b) => b.id === s.id)),
    'as new producers on the new worker',
  );
});

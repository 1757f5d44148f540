import t from 'tap';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { ADMIN_TOKEN, startTestFleet, type TestFleet } from '../helpers/fleet.js';
import { rawRequest } from '../../../bench/fuzz/url-spellings.js';

// Fail closed (issue 11, finding 1): the auth decision is taken on the route
// fastify matched, not on how the URL was spelled. Reproduced first over
// inject() and over a raw socket (absolute form, which inject normalises).

const NEW_ADMIN = JSON.stringify({ name: 'intruder', role: 'admin' });
const operatorCount = async (f: TestFleet): Promise<number> => (await f.fleet.repos.operators.list()).length;

/** Every route the fleet may serve without a token. A new one must be added here on purpose. */
const PUBLIC_ROUTES = [
  'GET /healthz',
  // The province CA's certificate for phones to install (api/province-ca.ts): no secret in it.
  'GET /ca',
  'GET /ca.crt',
  'GET /ca.pem',
  'POST /api/v1/enroll',
  'GET /api/v1/releases/:version/artifact',
  'GET /',
  'GET /ui/*',
  'GET /favicon.ico',
  'GET /docs/',
  'GET /docs/json',
  'GET /docs/yaml',
  'GET /docs/static/*',
  'GET /docs/static/index.html',
  'GET /docs/static/swagger-initializer.js',
];

t.test('a percent-encoded path does not skip the token check', async (t) => {
  const f = await startTestFleet(t);
  const before = await operatorCount(f);
  const res = await f.fleet.http.inject({
    method: 'POST',
    url: '/%61pi/v1/operators',
    headers: { 'content-type': 'application/json' },
    payload: NEW_ADMIN,
  });
  t.equal(res.statusCode, 401, 'POST /%61pi/v1/operators without a token');
  t.equal(
    (await f.fleet.http.inject({ method: 'GET', url: '/%61pi/v1/audit' })).statusCode,
    401,
    'the audit log stays closed',
  );
  t.equal((await f.fleet.http.inject({ method: 'GET', url: '/api/v1/%64evices' })).statusCode, 401);
  t.equal(await operatorCount(f), before, 'no operator created');
});

t.test('absolute-form and encoded targets over a real socket are refused', async (t) => {
  const f = await startTestFleet(t);
  const before = await operatorCount(f);
  for (const target of [
    'http://fleet/api/v1/operators',
    'HTTP://fleet/api/v1/operators',
    'https://x:1/api/v1/operators',
    '/%61pi/v1/operators',
    '/api/v1/%6Fperators',
  ]) {
    const res = await rawRequest(f.fleet.httpPort, {
      method: 'POST',
      target,
      headers: { 'content-type': 'application/json' },
      body: NEW_ADMIN,
    });
    t.equal(res.status, 401, `POST ${target}`);
    t.match(res.body, /FLEET_ERR_UNAUTHORIZED/);
  }
  t.equal(await operatorCount(f), before, 'no operator created');
  const ok = await rawRequest(f.fleet.httpPort, {
    method: 'GET',
    target: 'http://fleet/api/v1/operators',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  t.equal(ok.status, 200, 'the same absolute-form target with a token reaches the route');
});

t.test('public routes are exactly the ones marked public', async (t) => {
  const f = await startTestFleet(t);
  const routes = f.fleet.http.routeAccess();
  t.ok(routes.length > 60, `${routes.length} route methods registered`);
  const open = [
    ...new Set(routes.filter((r) => r.public && r.method !== 'HEAD').map((r) => `${r.method} ${r.url}`)),
  ].sort();
  t.same(open, [...PUBLIC_ROUTES].sort(), 'no route is public by accident');
  t.ok(
    routes.some((r) => r.url === '/api/v1/rollouts/:id/abort' && !r.public),
    'plugin routes (ota) are listed',
  );
  t.ok(
    routes.some((r) => r.url === '/api/v1/events' && !r.public),
    'the live feed is listed',
  );
  t.ok(
    routes.some((r) => r.url.startsWith('/docs/static/') && r.public),
    "swagger-ui's own routes are listed",
  );

  t.equal((await f.api('GET', '/healthz', { token: null })).status, 200);
  t.equal((await f.api('GET', '/docs/json', { token: null })).status, 200);
  t.equal(
    (await f.api('POST', '/api/v1/enroll', { token: null, body: {} })).status,
    400,
    'enrolment reaches its handler (and its own checks)',
  );
  for (const target of [
    '/ui/../../package.json',
    '/ui/%2e%2e/%2E%2E/package.json',
    '/ui/..%2f..%2fpackage.json',
    '/ui/..\\..\\package.json',
  ]) {
    t.equal(
      (await rawRequest(f.fleet.httpPort, { method: 'GET', target })).status,
      404,
      `the public file route serves nothing outside the bundle: ${target}`,
    );
  }
});

t.test("the auth hook sits on every route the router has, fastify's and plugins' own included", async (t) => {
  const f = await startTestFleet(t);
  // printRoutes reads the router itself, so a route registered where the hook
  // does not reach (a plugin registered before auth) shows up here.
  const lines = f.fleet.http.printRoutes({ commonPrefix: false, includeHooks: true }).split('\n');
  const routes: { route: string; onRequest: string }[] = [];
  for (const line of lines) {
    if (/\([A-Z, ]+\)\s*$/.test(line)) routes.push({ route: line.replace(/^[\s│├└─]+/, ''), onRequest: '' });
    else if (line.includes('(onRequest)') && routes.length > 0) routes.at(-1)!.onRequest = line;
  }
  t.ok(routes.length > 40, `${routes.length} router entries`);
  const bare = routes.filter((r) => !r.onRequest.includes('requireOperator')).map((r) => r.route);
  t.same(bare, [], 'no route without the hook');
});

t.test('every protected route answers 401 without a token, and unknown routes too', async (t) => {
  const f = await startTestFleet(t);
  const routes = f.fleet.http.routeAccess().filter((r) => !r.public);
  for (const r of routes) {
    const url = r.url.replace(/:\w+/g, 'x').replace(/\*$/, 'x');
    const res = await f.fleet.http.inject({ method: r.method as 'GET', url });
    if (res.statusCode !== 401) t.fail(`${r.method} ${url}: ${res.statusCode}`);
  }
  t.pass(`${routes.length} protected route methods checked`);
  const unknown = await f.fleet.http.inject({ method: 'GET', url: '/api/v1/no-such-thing' });
  t.equal(unknown.statusCode, 401, 'an unknown route does not tell an anonymous caller it does not exist');
  t.equal((await f.api('GET', '/api/v1/no-such-thing')).status, 404, 'an operator gets 404');
});

t.test('relatives: bearer scheme, query tokens, HEAD/OPTIONS, method override, CORS, the live feed', async (t) => {
  const f = await startTestFleet(t);
  const get = (headers: Record<string, string>, url = '/api/v1/sites') =>
    f.fleet.http.inject({ method: 'GET', url, headers });
  t.equal(
    (await get({ authorization: `bearer ${ADMIN_TOKEN}` })).statusCode,
    200,
    'scheme is case-insensitive (RFC 9110)',
  );
  t.equal((await get({ authorization: `BEARER   ${ADMIN_TOKEN}` })).statusCode, 200);
  for (const authorization of [
    `Basic ${ADMIN_TOKEN}`,
    `Bearer ${ADMIN_TOKEN} extra`,
    `Bearer`,
    `${ADMIN_TOKEN}`,
    `Bearer ${ADMIN_TOKEN}x`,
    `Token ${ADMIN_TOKEN}`,
  ]) {
    t.equal(
      (await get({ authorization })).statusCode,
      401,
      `refused: ${authorization.replace(ADMIN_TOKEN, '<token>')}`,
    );
  }
  for (const q of ['token', 'access_token', 'authorization', 'bearer']) {
    t.equal((await get({}, `/api/v1/sites?${q}=${ADMIN_TOKEN}`)).statusCode, 401, `no token from ?${q}=`);
  }
  t.equal(
    (await f.fleet.http.inject({ method: 'HEAD', url: '/api/v1/operators' })).statusCode,
    401,
    'HEAD on a protected route',
  );
  const pre = await f.fleet.http.inject({
    method: 'OPTIONS',
    url: '/api/v1/operators',
    headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' },
  });
  t.equal(pre.statusCode, 401, 'a CORS preflight is refused');
  t.notOk(pre.headers['access-control-allow-origin'], 'no CORS grant');
  const cross = await get({ authorization: `Bearer ${ADMIN_TOKEN}`, origin: 'http://evil.example' });
  t.notOk(cross.headers['access-control-allow-origin'], 'no CORS grant to another origin');

  const viewer = await f.api<{ token: string }>('POST', '/api/v1/operators', { body: { name: 'V', role: 'viewer' } });
  const before = await operatorCount(f);
  for (const header of ['x-http-method-override', 'x-method-override', 'x-http-method']) {
    const res = await f.fleet.http.inject({
      method: 'GET',
      url: '/api/v1/operators',
      headers: { authorization: `Bearer ${viewer.body.token}`, [header]: 'POST', 'content-type': 'application/json' },
      payload: NEW_ADMIN,
    });
    t.equal(res.statusCode, 403, `${header}: a viewer's GET stays a GET (admins only)`);
  }
  t.equal(await operatorCount(f), before);

  // The live feed over real HTTP: no stream opens without a token.
  const base = `http://127.0.0.1:${f.fleet.httpPort}`;
  for (const headers of [{}, { authorization: 'Bearer nope-nope-nope-nope' }] as Record<string, string>[]) {
    const res = await fetch(`${base}/api/v1/events`, { headers, signal: AbortSignal.timeout(5000) });
    t.equal(res.status, 401, 'the live feed needs a token');
    t.notMatch(res.headers.get('content-type') ?? '', /event-stream/);
    await res.body?.cancel();
  }
  const live = await fetch(`${base}/%61pi/v1/events?token=${ADMIN_TOKEN}`, { signal: AbortSignal.timeout(5000) });
  t.equal(live.status, 401, 'nor with an encoded path and a query token');
  await live.body?.cancel();
});

t.test('/metrics needs an operator unless DIEMCAU_METRICS_PUBLIC is set', async (t) => {
  const f = await startTestFleet(t);
  t.equal((await f.api('GET', '/metrics', { token: null })).status, 401);
  const viewer = await f.api<{ token: string }>('POST', '/api/v1/operators', {
    body: { name: 'Prometheus', role: 'viewer' },
  });
  const m = await f.api<string>('GET', '/metrics', { token: viewer.body.token });
  t.equal(m.status, 200, "a viewer's token will do for the scraper");
  t.match(m.body, /^diemcau_http_auth_refused_total\{status="401",reason="no-token"\} 1$/m, 'the refusal was counted');
  await f.api('POST', '/api/v1/operators', { token: viewer.body.token, body: { name: 'x', role: 'admin' } });
  await f.api('GET', '/api/v1/sites', { token: 'garbage-garbage-garbage' });
  const after = (await f.api<string>('GET', '/metrics')).body;
  t.match(after, /^diemcau_http_auth_refused_total\{status="403",reason="role"\} 1$/m);
  t.match(after, /^diemcau_http_auth_refused_total\{status="401",reason="bad-token"\} 1$/m);

  const open = await startTestFleet(t, { metricsPublic: true });
  t.equal((await open.api('GET', '/metrics', { token: null })).status, 200, 'opted in: public');
});

t.test('writes are audited one by one; refusals in aggregate, one row per source and minute', async (t) => {
  const f = await startTestFleet(t);
  // Every write route of every plugin, called by an admin: each leaves its own row.
  const writes = f.fleet.http.routeAccess().filter((r) => !r.public && !['GET', 'HEAD', 'OPTIONS'].includes(r.method));
  for (const r of writes) {
    const url = r.url.replace(/:\w+/g, 'zz-none').replace(/\*$/, 'zz-none');
    await f.fleet.http.inject({
      method: r.method as 'POST',
      url,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      payload: '{}',
    });
  }
  const audited = new Set((await f.fleet.repos.audit.list({ limit: 1000 })).map((e) => e.action));
  const missing = writes.map((r) => `${r.method} ${r.url}`).filter((a) => !audited.has(a));
  t.same(missing, [], `all ${writes.length} write route methods audited`);

  const viewer = await f.api<{ id: string; token: string }>('POST', '/api/v1/operators', {
    body: { name: 'V', role: 'viewer' },
  });
  const rowsBefore = (await f.fleet.repos.audit.list({ limit: 1000 })).length;
  // The budget and the aggregate are per minute of the wall clock: start the
  // burst early in a minute so it does not straddle two (it takes a second or two).
  const intoMinute = Date.now() % 60_000;
  if (intoMinute > 35_000) await new Promise((r) => setTimeout(r, 60_000 - intoMinute + 50));
  const burstMinute = Math.floor(Date.now() / 60_000);
  for (let i = 0; i < 200; i++) {
    await f.fleet.http.inject({
      method: 'POST',
      url: i % 2 ? '/api/v1/operators' : '/%61pi/v1/audit',
      payload: NEW_ADMIN,
      headers: { 'content-type': 'application/json' },
    });
  }
  for (let i = 0; i < 50; i++)
    await f.api('POST', '/api/v1/sites/yb-city/enrollment-tokens', { token: viewer.body.token, body: {} });
  await f.api('GET', '/api/v1/nothing-here', { token: null });
  const minuteOf = Math.floor(Date.now() / 60_000);
  t.equal(minuteOf, burstMinute, 'the burst stayed within one minute');
  const own = (await f.fleet.repos.audit.list({ limit: 1000 })).slice(0, -rowsBefore || undefined);
  t.equal(own.length, 20, "no row per refusal: only the viewer's first 20 refused writes of the minute have their own");
  t.ok(own.every((e) => e.operatorId === viewer.body.id && e.outcome === '403'));

  // The aggregate is written when the minute ends, or at shutdown: read it from the file afterwards.
  await f.fleet.close();
  const db = new Database(join(f.dataDir, 'fleet.sqlite'), { readonly: true });
  t.teardown(() => db.close());
  const rows = db.prepare(`SELECT * FROM audit_log WHERE action = 'http.refused'`).all() as {
    target: string;
    details: string;
    at: string;
  }[];
  const minutes = new Set(rows.map((r) => (JSON.parse(r.details) as { minute: string }).minute));
  t.ok(rows.length >= 1 && rows.length <= 2 && minutes.size === rows.length, `${rows.length} row(s), one per minute`);
  t.ok(Math.floor(Date.parse([...minutes].at(-1)!) / 60_000) <= minuteOf);
  const total = rows.map(
    (r) =>
      JSON.parse(r.details) as {
        count: number;
        byStatus: Record<string, number>;
        reasons: Record<string, number>;
        routes: Record<string, number>;
        paths?: string[];
        operators?: string[];
      },
  );
  t.equal(
    total.reduce((n, d) => n + d.count, 0),
    231,
    '200 anonymous, 30 viewer writes past the 20 with own rows, 1 unknown path',
  );
  t.equal(rows[0]!.target, 'source:127.0.0.1');
  const merged = total.reduce<Record<string, number>>((acc, d) => {
    for (const [k, v] of Object.entries(d.routes)) acc[k] = (acc[k] ?? 0) + v;
    return acc;
  }, {});
  t.equal(merged['POST /api/v1/operators'], 100);
  t.equal(merged['POST /api/v1/audit'], undefined, 'the audit route has no POST: /%61pi/v1/audit is no route');
  t.equal(merged['POST /api/v1/sites/:siteId/enrollment-tokens'], 30);
  t.ok(
    total.some((d) => d.operators?.includes(viewer.body.id)),
    "the viewer's id is named",
  );
  const reasons = total.reduce<Record<string, number>>((acc, d) => {
    for (const [k, v] of Object.entries(d.reasons)) acc[k] = (acc[k] ?? 0) + v;
    return acc;
  }, {});
  t.same(reasons, { 'no-token': 201, 'viewer-write': 30 });
  t.ok(
    total.some((d) => d.paths?.includes('/%61pi/v1/audit')),
    'what was probed on no route is kept (a few, shortened)',
  );
});

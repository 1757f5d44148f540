import t from 'tap';
import { startTestFleet } from '../helpers/fleet.js';

t.test('no token or an unknown token is 401', async (t) => {
  const { api } = await startTestFleet(t);
  const r1 = await api<{ code: string }>('GET', '/api/v1/sites', { token: null });
  t.equal(r1.status, 401);
  t.equal(r1.body.code, 'FLEET_ERR_UNAUTHORIZED');
  t.equal((await api('GET', '/api/v1/sites', { token: 'not-a-real-token-at-all' })).status, 401);
  t.equal((await api('GET', '/healthz', { token: null })).status, 200, 'health is public');
});

t.test('a district operator acts only inside its district', async (t) => {
  const { api, enrol } = await startTestFleet(t);
  const op = await api<{ token: string; role: string; districtId: string }>('POST', '/api/v1/operators', {
    body: { name: 'Trạm Tấu IT', role: 'district-operator', districtId: 'yb-tram-tau' },
  });
  t.equal(op.status, 201);
  const token = op.body.token;
  const inside = await enrol('yb-tram-tau-ban-mu');
  const outside = await enrol('yb-luc-yen');

  const sites = await api<{ items: { id: string }[] }>('GET', '/api/v1/sites', { token });
  t.equal(sites.body.items.length, 13, 'the district and its 12 communes and township');
  t.ok(sites.body.items.every((s) => s.id.startsWith('yb-tram-tau')));

  t.equal(
    (await api('POST', '/api/v1/sites/yb-tram-tau-xa-ho/enrollment-tokens', { token, body: {} })).status,
    201,
    'inside: allowed',
  );
  const denied = await api<{ code: string }>('POST', '/api/v1/sites/yb-luc-yen/enrollment-tokens', { token, body: {} });
  t.equal(denied.status, 403);
  t.equal(denied.body.code, 'FLEET_ERR_FORBIDDEN');

  const devices = await api<{ items: { id: string }[] }>('GET', '/api/v1/devices', { token });
  t.same(
    devices.body.items.map((d) => d.id),
    [inside.deviceId],
    'only its devices listed',
  );
  t.equal((await api('GET', `/api/v1/devices/${inside.deviceId}`, { token })).status, 200);
  t.equal((await api('GET', `/api/v1/devices/${outside.deviceId}`, { token })).status, 403);
  t.equal((await api('GET', `/api/v1/devices/${outside.deviceId}/telemetry`, { token })).status, 403);
  t.equal(
    (await api('POST', '/api/v1/operators', { token, body: { name: 'x', role: 'admin' } })).status,
    403,
    'cannot make operators',
  );
});

t.test('a viewer reads everything and writes nothing', async (t) => {
  const { api } = await startTestFleet(t);
  const v = await api<{ token: string }>('POST', '/api/v1/operators', { body: { name: 'Viewer', role: 'viewer' } });
  const token = v.body.token;
  t.equal((await api<{ items: unknown[] }>('GET', '/api/v1/sites', { token })).body.items.length, 210);
  t.equal((await api('GET', '/api/v1/alerts', { token })).status, 200);
  t.equal((await api('POST', '/api/v1/sites/yb-city/enrollment-tokens', { token, body: {} })).status, 403);
});

t.test('operator creation is validated', async (t) => {
  const { api } = await startTestFleet(t);
  t.equal(
    (await api('POST', '/api/v1/operators', { body: { name: 'x', role: 'district-operator' } })).status,
    400,
    'needs a district',
  );
  // Any site roots an area now (a commune, a former district, a department), but it must exist.
  t.equal(
    (
      await api('POST', '/api/v1/operators', {
        body: { name: 'x', role: 'district-operator', districtId: 'yb-city-phuong-dong-tam' },
      })
    ).status,
    201,
    'a commune is an area',
  );
  t.equal(
    (
      await api('POST', '/api/v1/operators', {
        body: { name: 'x', role: 'district-operator', districtId: 'yb-nowhere' },
      })
    ).status,
    400,
    'an unknown site is not',
  );
  t.equal((await api('POST', '/api/v1/operators', { body: { name: 'x', role: 'root' } })).status, 400);
});

t.test('every operator write is in the audit log, refusals included', async (t) => {
  const { api } = await startTestFleet(t);
  const op = await api<{ id: string; token: string }>('POST', '/api/v1/operators', {
    body: { name: 'Yên Bình IT', role: 'district-operator', districtId: 'yb-yen-binh' },
  });
  await api('POST', '/api/v1/sites/yb-yen-binh/enrollment-tokens', { token: op.body.token, body: { uses: 5 } });
  await api('POST', '/api/v1/sites/yb-city/enrollment-tokens', { token: op.body.token, body: {} });
  const log = await api<{
    items: { operatorName: string; action: string; target: string; outcome: string; details: unknown }[];
  }>('GET', '/api/v1/audit');
  t.equal(log.status, 200);
  const [refused, minted, created] = log.body.items;
  t.match(created, { action: 'POST /api/v1/operators', outcome: '201', target: `operator:${op.body.id}` });
  t.match(minted, {
    operatorName: 'Yên Bình IT',
    action: 'POST /api/v1/sites/:siteId/enrollment-tokens',
    target: 'site:yb-yen-binh',
    outcome: '201',
    details: { uses: 5 },
  });
  t.match(refused, { operatorName: 'Yên Bình IT', target: 'siteId:yb-city', outcome: '403' });
  t.equal((await api('GET', '/api/v1/audit', { token: op.body.token })).status, 403, 'only admins read the audit log');
});

t.test('the OpenAPI document is served at /docs', async (t) => {
  const { api } = await startTestFleet(t);
  const doc = await api<{ openapi: string; paths: Record<string, unknown> }>('GET', '/docs/json', { token: null });
  t.equal(doc.status, 200);
  for (const p of [
    '/api/v1/enroll',
    '/api/v1/devices',
    '/api/v1/devices/{id}/telemetry',
    '/api/v1/alerts',
    '/api/v1/sites/{siteId}/enrollment-tokens',
  ]) {
    t.ok(doc.body.paths[p], p);
  }
});

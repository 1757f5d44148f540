import t from 'tap';
import type { Site } from '@diemcau/shared';
import { startTestFleet } from '../helpers/fleet.js';

const sites: Site[] = [
  { id: 'hg-district', name: 'Huyện Thử', kind: 'district', parentId: null, address: '1 Đường A' },
  { id: 'hg-commune-a', name: 'Xã A', kind: 'commune', parentId: 'hg-district', contact: '0900 000 001' },
  { id: 'hg-commune-b', name: 'Xã B', kind: 'commune', parentId: 'hg-district' },
];

t.test('importing sites is idempotent, all or nothing, admin only and audited', async (t) => {
  const { api, fleet } = await startTestFleet(t);
  const before = await fleet.repos.sites.count();
  const first = await api('POST', '/api/v1/sites/import', { body: { sites } });
  t.equal(first.status, 200);
  t.same(first.body, { created: 3, updated: 0, unchanged: 0 });
  t.same(
    (await api('POST', '/api/v1/sites/import', { body: { sites } })).body,
    { created: 0, updated: 0, unchanged: 3 },
    'same list again changes nothing',
  );
  const renamed = sites.map((s) => (s.id === 'hg-commune-b' ? { ...s, name: 'Xã Bê' } : s));
  t.same((await api('POST', '/api/v1/sites/import', { body: { sites: renamed } })).body, {
    created: 0,
    updated: 1,
    unchanged: 2,
  });
  t.equal(await fleet.repos.sites.count(), before + 3);

  const one = await api<Site>('GET', '/api/v1/sites/hg-commune-a');
  t.same(one.body, sites[1], 'GET one site, optional fields included');
  t.equal(fleet.sites.get('hg-commune-b')?.name, 'Xã Bê', 'the in-memory hierarchy is reloaded');

  // A bad list: one good new site and a commune whose parent is a commune. Nothing is written.
  const bad = await api<{ code: string; details: string[] }>('POST', '/api/v1/sites/import', {
    body: {
      sites: [
        { id: 'hg-new', name: 'Mới', kind: 'district', parentId: null },
        { id: 'hg-c', name: 'C', kind: 'commune', parentId: 'hg-commune-a' },
      ],
    },
  });
  t.equal(bad.status, 400);
  t.equal(bad.body.code, 'FLEET_ERR_BAD_REQUEST');
  t.match(bad.body.details, [/hg-c has parent hg-commune-a/]);
  t.equal((await api('GET', '/api/v1/sites/hg-new')).status, 404, 'the good row of a bad list is not imported');
  t.equal(await fleet.repos.sites.count(), before + 3);

  const op = await api<{ token: string }>('POST', '/api/v1/operators', {
    body: { name: 'D', role: 'district-operator', districtId: 'hg-district' },
  });
  t.equal(
    (await api('POST', '/api/v1/sites/import', { body: { sites }, token: op.body.token })).status,
    403,
    'district operators cannot import',
  );
  t.equal((await api('GET', '/api/v1/sites/hg-commune-a', { token: op.body.token })).status, 200);
  t.equal(
    (await api('GET', '/api/v1/sites/yb-city', { token: op.body.token })).status,
    403,
    'a site outside its district',
  );

  const audit = await api<{ items: { action: string; outcome: string; details: unknown }[] }>(
    'GET',
    '/api/v1/audit?target=sites',
  );
  t.same(
    audit.body.items.map((a) => a.outcome),
    ['400', '200', '200', '200'],
  );
  t.match(audit.body.items[1], {
    action: 'POST /api/v1/sites/import',
    details: { created: 0, updated: 1, unchanged: 2 },
  });
  const refused = await api<{ items: { action: string; outcome: string }[] }>('GET', '/api/v1/audit?limit=5');
  t.ok(
    refused.body.items.some((a) => a.action === 'POST /api/v1/sites/import' && a.outcome === '403'),
    'the refusal is audited too',
  );
});

t.test('pre-registrations: listed, scoped to a district, deleted; a listed box enrols without a token', async (t) => {
  const { api } = await startTestFleet(t);
  const made = await api('POST', '/api/v1/preregistrations', {
    body: { serial: 'PF-123 456', siteId: 'yb-tram-tau-xa-ho', note: 'shipped' },
  });
  t.equal(made.status, 201);
  t.match(made.body, {
    serial: 'PF-123 456',
    siteId: 'yb-tram-tau-xa-ho',
    note: 'shipped',
    deviceId: null,
    usedAt: null,
    armedUntil: String,
  });
  t.equal(
    (await api('POST', '/api/v1/preregistrations', { body: { serial: 'X', siteId: 'no-such-site' } })).status,
    404,
  );

  const op = await api<{ token: string }>('POST', '/api/v1/operators', {
    body: { name: 'LY', role: 'district-operator', districtId: 'yb-luc-yen' },
  });
  const token = op.body.token;
  t.equal(
    (await api('POST', '/api/v1/preregistrations', { token, body: { serial: 'LY-1', siteId: 'yb-luc-yen' } })).status,
    201,
  );
  t.equal(
    (await api('POST', '/api/v1/preregistrations', { token, body: { serial: 'LY-2', siteId: 'yb-city' } })).status,
    403,
    'outside its district',
  );
  t.equal(
    (await api('POST', '/api/v1/preregistrations', { token, body: { serial: 'PF-123 456', siteId: 'yb-luc-yen' } }))
      .status,
    403,
    'cannot pull a box out of another district',
  );
  const theirs = await api<{ items: { serial: string }[] }>('GET', '/api/v1/preregistrations', { token });
  t.same(
    theirs.body.items.map((r) => r.serial),
    ['LY-1'],
  );

  const enrolled = await api<{ deviceId: string; siteId: string }>('POST', '/api/v1/enroll', {
    token: null,
    body: { hardware: { serial: 'PF-123 456' } },
  });
  t.equal(enrolled.status, 200);
  t.equal(enrolled.body.siteId, 'yb-tram-tau-xa-ho');
  const all = await api<{ items: { serial: string; deviceId: string | null }[] }>('GET', '/api/v1/preregistrations');
  t.match(all.body.items, [
    { serial: 'LY-1', siteId: 'yb-luc-yen', note: null, deviceId: null, usedAt: null },
    {
      serial: 'PF-123 456',
      siteId: 'yb-tram-tau-xa-ho',
      note: 'shipped',
      deviceId: enrolled.body.deviceId,
      usedAt: String,
    },
  ]);
  t.equal(all.body.items.length, 2);

  t.equal((await api('DELETE', `/api/v1/preregistrations/${encodeURIComponent('PF-123 456')}`, { token })).status, 403);
  t.equal((await api('DELETE', `/api/v1/preregistrations/${encodeURIComponent('PF-123 456')}`)).status, 204);
  t.equal((await api('DELETE', `/api/v1/preregistrations/${encodeURIComponent('PF-123 456')}`)).status, 404);
  t.equal(
    (await api('POST', '/api/v1/enroll', { token: null, body: { hardware: { serial: 'PF-123 456' } } })).status,
    401,
    'the serial alone no longer enrols',
  );
  t.equal(
    (await api('POST', '/api/v1/enroll', { token: null, body: { hardware: { serial: 'LY-2' } } })).status,
    401,
    'an unlisted serial gets nothing',
  );
});

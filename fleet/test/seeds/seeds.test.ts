import t from 'tap';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { SiteSchema, validateHierarchy, type SiteKind } from '@diemcau/shared';
import { yenBaiSites } from '../../src/seeds/seed.js';
import { startTestFleet } from '../helpers/fleet.js';

t.test('the seeds are the 210 sites of Yên Bái in a valid hierarchy', async (t) => {
  const sites = yenBaiSites();
  t.equal(sites.length, 210);
  t.same(validateHierarchy(sites), []);
  const check = TypeCompiler.Compile(SiteSchema);
  const invalid = sites.map((s) => ({ id: s.id, ok: check.Check(s) })).filter((r) => !r.ok);
  t.same(invalid, [], 'every site matches SiteSchema (ids included)');
  const count = (k: SiteKind) => sites.filter((s) => s.kind === k).length;
  t.same(
    {
      pc: count('party-committee'),
      hd: count('peoples-council'),
      ub: count('peoples-committee'),
      boards: count('party-board'),
      depts: count('department'),
      districts: count('district'),
      communes: count('commune'),
    },
    { pc: 1, hd: 1, ub: 1, boards: 6, depts: 19, districts: 9, communes: 173 },
  );
  t.same(
    sites
      .filter((s) => s.kind === 'district')
      .map((s) => s.id)
      .sort(),
    [
      'yb-city',
      'yb-luc-yen',
      'yb-mu-cang-chai',
      'yb-nghia-lo',
      'yb-tram-tau',
      'yb-tran-yen',
      'yb-van-chan',
      'yb-van-yen',
      'yb-yen-binh',
    ],
  );
  t.same(yenBaiSites(), sites, 'stable: the same ids every time');
});

t.test('a fresh fleet loads the seeds once; the API lists them', async (t) => {
  const { api } = await startTestFleet(t);
  const res = await api<{ items: { id: string; parentId: string | null }[] }>('GET', '/api/v1/sites');
  t.equal(res.status, 200);
  t.equal(res.body.items.length, 210);
  const communes = await api<{ items: unknown[] }>('GET', '/api/v1/sites?parentId=yb-mu-cang-chai');
  t.equal(communes.body.items.length, 14);
});

import { SiteKindRegistry } from '@diemcau/shared';
import t from 'tap';
import { parseSitesFile } from '../src/sites-file.js';

const header = 'id,name,kind,parent,address,contact\n';

t.test('a valid CSV gives sites with their hierarchy', async (t) => {
  const csv =
    header +
    'yb-van-yen,Huyện Văn Yên,district,,"Mậu A, Văn Yên",\n' +
    'yb-van-yen-an-thinh,Xã An Thịnh,commune,yb-van-yen,,Ông A 0912\n';
  const r = parseSitesFile(csv, 'csv');
  t.ok(r.ok);
  if (r.ok) {
    t.equal(r.sites.length, 2);
    t.same(r.sites[1], {
      id: 'yb-van-yen-an-thinh',
      name: 'Xã An Thịnh',
      kind: 'commune',
      parentId: 'yb-van-yen',
      contact: 'Ông A 0912',
    });
    t.equal(r.sites[0]!.parentId, null);
    t.equal(r.sites[0]!.address, 'Mậu A, Văn Yên');
  }
});

t.test('bad rows are reported with their line numbers and nothing is returned', async (t) => {
  const csv =
    header +
    'yb-van-yen,Huyện Văn Yên,district,,,\n' + // line 2: fine
    'BAD ID,Xã X,commune,yb-van-yen,,\n' + // line 3: bad id
    'yb-x,Xã Y,village,yb-van-yen,,\n'; // line 4: bad kind
  const r = parseSitesFile(csv, 'csv');
  t.equal(r.ok, false);
  if (!r.ok)
    t.same(
      r.problems.map((p) => p.line),
      [3, 4],
    );
});

t.test('hierarchy problems point at the offending row', async (t) => {
  const csv = header + 'yb-a,Xã A,commune,yb-nowhere,,\n';
  const r = parseSitesFile(csv, 'csv');
  t.equal(r.ok, false);
  if (!r.ok) {
    t.equal(r.problems[0]!.line, 2);
    t.match(r.problems[0]!.message, /district parent/);
  }
});

t.test('JSON accepts an array or { sites } and numbers elements from 1', async (t) => {
  const ok = parseSitesFile(
    JSON.stringify({ sites: [{ id: 'yb-dept-1', name: 'Sở A', kind: 'department', parentId: null }] }),
    'json',
  );
  t.ok(ok.ok);
  const bad = parseSitesFile(
    JSON.stringify([{ id: 'yb-dept-1', name: 'Sở A', kind: 'department' }, { id: 'x' }]),
    'json',
  );
  t.equal(bad.ok, false);
  if (!bad.ok)
    t.same(
      bad.problems.map((p) => p.line),
      [2],
    );
  t.equal(parseSitesFile('{', 'json').ok, false);
});

t.test('an unknown column is refused rather than silently ignored', async (t) => {
  const r = parseSitesFile('id,name,kind,parent,phone\n', 'csv');
  t.equal(r.ok, false);
});

t.test(
  "the target fleet's kinds decide: a two-tier registry takes top-level communes and refuses districts",
  async (t) => {
    const twoTier = new SiteKindRegistry([
      { id: 'commune', label: { vi: 'Xã', en: 'Commune' }, parents: [] },
      { id: 'area-centre', label: { vi: 'Trụ sở khu vực', en: 'Area centre' }, parents: [] },
    ]);
    const csv =
      header +
      'yb-mcc,Trụ sở khu vực Mù Cang Chải,area-centre,,,\n' +
      'yb-x,Xã X,commune,,,\n' +
      'yb-d,Huyện D,district,,,\n';
    const r = parseSitesFile(csv, 'csv', twoTier);
    t.equal(r.ok, false);
    if (!r.ok) t.match(r.problems, [{ line: 4, message: /unknown kind district/ }]);
    // The same file without the district row is fine there, and refused with the 2022 kinds.
    const without = header + 'yb-mcc,Trụ sở khu vực Mù Cang Chải,area-centre,,,\n' + 'yb-x,Xã X,commune,,,\n';
    t.ok(parseSitesFile(without, 'csv', twoTier).ok);
    t.equal(
      parseSitesFile(without, 'csv').ok,
      false,
      'the 2022 kinds know no area-centre, and a commune needs a district',
    );
  },
);

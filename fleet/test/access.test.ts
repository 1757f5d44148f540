// The one access rule (access.ts), over a small hierarchy of any depth.
import t from 'tap';
import { indexSites, type Site } from '@diemcau/shared';
import { canSeeSite, canonicalRole, mayAct, outsideScope, siteScopeOf } from '../src/access.js';

const site = (id: string, parentId: string | null = null): Site => ({ id, name: id, kind: 'unit', parentId });
// region → area → commune → hamlet: four levels; plus a top-level department.
const sites = [
  site('region'),
  site('area', 'region'),
  site('c1', 'area'),
  site('h1', 'c1'),
  site('c2', 'region'),
  site('dept'),
];
const index = indexSites(sites, [{ id: 'hub-a', name: 'Hub A', hubSiteId: 'c2', siteIds: ['c2', 'c1'] }]);
const sorted = (s: ReadonlySet<string> | null) => (s === null ? null : [...s].sort());

t.test('admins and viewers see every site; only admins and area operators act', async (t) => {
  t.equal(siteScopeOf(index, { role: 'admin', area: null }), null);
  t.equal(siteScopeOf(index, { role: 'viewer', area: null }), null);
  t.ok(mayAct({ role: 'admin', area: null }));
  t.notOk(mayAct({ role: 'viewer', area: null }));
  t.ok(mayAct({ role: 'area-operator', area: null }));
});

t.test('an area is a subtree at any depth, or a relay group (members and what hangs under them)', async (t) => {
  t.same(sorted(siteScopeOf(index, { role: 'area-operator', area: { kind: 'subtree', siteId: 'area' } })), [
    'area',
    'c1',
    'h1',
  ]);
  t.same(sorted(siteScopeOf(index, { role: 'area-operator', area: { kind: 'relay-group', groupId: 'hub-a' } })), [
    'c1',
    'c2',
    'h1',
  ]);
  const op = { role: 'area-operator', area: { kind: 'subtree' as const, siteId: 'c1' } };
  t.ok(canSeeSite(index, op, 'h1'));
  t.notOk(canSeeSite(index, op, 'area'), 'not the parent');
  t.same(outsideScope(index, op, ['c1', 'dept', 'h1']), ['dept']);
});

t.test('fail closed: no area, an area naming nothing, an unknown role or no operator see nothing', async (t) => {
  t.same(sorted(siteScopeOf(index, { role: 'area-operator', area: null })), []);
  t.same(sorted(siteScopeOf(index, { role: 'area-operator', area: { kind: 'subtree', siteId: 'gone' } })), []);
  t.same(sorted(siteScopeOf(index, { role: 'area-operator', area: { kind: 'relay-group', groupId: 'gone' } })), []);
  t.same(sorted(siteScopeOf(index, { role: 'root', area: null })), []);
  t.same(sorted(siteScopeOf(index, null)), []);
  t.notOk(canSeeSite(index, undefined, 'dept'));
  t.notOk(mayAct({ role: 'root', area: null }));
});

t.test('the district operator is the area operator by its older name', async (t) => {
  t.equal(canonicalRole('district-operator'), 'area-operator');
  t.equal(canonicalRole('area-operator'), 'area-operator');
  t.equal(canonicalRole('superuser'), null);
  t.same(sorted(siteScopeOf(index, { role: 'district-operator', area: { kind: 'subtree', siteId: 'area' } })), [
    'area',
    'c1',
    'h1',
  ]);
});

import t from 'tap';
import type { Site } from '@diemcau/shared';
import { planSiteImport } from '../../src/provisioning/import-planner.js';

const district = (id: string, name = id): Site => ({ id, name, kind: 'district', parentId: null });
const commune = (id: string, parentId: string, name = id): Site => ({ id, name, kind: 'commune', parentId });

t.test('new, changed and identical rows are told apart', async (t) => {
  const existing = [district('d1'), commune('c1', 'd1')];
  const plan = planSiteImport(existing, [
    district('d1'),
    commune('c1', 'd1', 'Renamed'),
    district('d2'),
    commune('c2', 'd2'),
  ]);
  t.ok(plan.ok);
  if (!plan.ok) return;
  t.same(
    plan.create.map((s) => s.id),
    ['d2', 'c2'],
  );
  t.same(
    plan.update.map((s) => s.id),
    ['c1'],
  );
  t.same(
    plan.unchanged.map((s) => s.id),
    ['d1'],
  );
});

t.test('an absent optional field equals an empty one', async (t) => {
  const plan = planSiteImport([{ ...district('d1'), address: '' }], [district('d1')]);
  t.ok(plan.ok && plan.unchanged.length === 1);
});

t.test('the hierarchy is checked over existing and new sites together', async (t) => {
  // A commune may hang under a district that is already in the registry.
  t.ok(planSiteImport([district('d1')], [commune('c9', 'd1')]).ok);
  const orphan = planSiteImport([district('d1')], [commune('c9', 'nowhere')]);
  t.notOk(orphan.ok);
  // Turning a district into a commune leaves its existing communes under a commune.
  const demoted = planSiteImport([district('d1'), district('d2'), commune('c1', 'd1')], [commune('d1', 'd2')]);
  t.notOk(demoted.ok);
  if (!demoted.ok) t.match(demoted.problems.join('\n'), /commune c1 has parent d1 of kind commune/);
  const twice = planSiteImport([], [district('d1'), district('d1', 'again')]);
  t.notOk(twice.ok);
  if (!twice.ok) t.match(twice.problems, [/d1 is listed twice/]);
});

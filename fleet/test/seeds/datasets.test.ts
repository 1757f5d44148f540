// The shipped datasets and the dataset checks, without a fleet.
import t from 'tap';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DiemcauError, indexSites, relayGroupOf, validateDataset, type HierarchyDataset } from '@diemcau/shared';
import { DATASETS_DIR, loadDataset, parseDataset } from '../../src/seeds/datasets.js';
import { yenBaiSites } from '../../src/seeds/yen-bai.js';
import { datasetText, shippedDatasets } from '../../../scripts/make-datasets.js';

t.test('the shipped JSON files are what the seeds and the mapping make', async (t) => {
  for (const [name, d] of Object.entries(shippedDatasets())) {
    t.equal(
      readFileSync(path.join(DATASETS_DIR, `${name}.json`), 'utf8'),
      datasetText(d),
      `${name}.json is up to date (npx tsx scripts/make-datasets.ts)`,
    );
  }
});

t.test('yen-bai-2022 is the seeds, one relay group per district', async (t) => {
  const d = loadDataset('yen-bai-2022');
  t.same(d.sites, yenBaiSites());
  t.same(validateDataset(d), []);
  const index = indexSites(d.sites, d.relayGroups);
  t.equal(relayGroupOf(index, 'yb-mu-cang-chai-che-tao')?.hubSiteId, 'yb-mu-cang-chai');
  t.equal(relayGroupOf(index, 'yb-dept-health'), null, 'province-level bodies link to the core');
  // Declared groups are exactly what the tree alone would give (the 2022 rule).
  const derived = indexSites(d.sites);
  for (const s of d.sites) t.equal(relayGroupOf(derived, s.id)?.id ?? null, relayGroupOf(index, s.id)?.id ?? null);
});

t.test('yen-bai-two-tier: every 2022 commune kept, at the top, behind the hub of its former district', async (t) => {
  const old = loadDataset('yen-bai-2022');
  const d = loadDataset('yen-bai-two-tier');
  t.same(validateDataset(d), []);
  const index = indexSites(d.sites, d.relayGroups);
  const oldIndex = indexSites(old.sites, old.relayGroups);
  for (const c of old.sites.filter((s) => s.kind === 'commune')) {
    const now = index.byId.get(c.id);
    t.equal(now?.parentId, null, `${c.id} at the top`);
    t.equal(
      relayGroupOf(index, c.id)?.name.replace('Cụm ', ''),
      relayGroupOf(oldIndex, c.id)?.name.replace(/^(Huyện|Thị xã|Thành phố) /, ''),
    );
  }
  t.equal(d.relayGroups?.length, 9);
});

const base = (): HierarchyDataset => ({
  v: 1,
  id: 'tiny',
  name: { vi: 'Nhỏ', en: 'Tiny' },
  kinds: [
    { id: 'region', label: { vi: 'Vùng', en: 'Region' }, parents: [] },
    { id: 'commune', label: { vi: 'Xã', en: 'Commune' }, parents: ['region'], topLevel: true },
  ],
  sites: [
    { id: 'r1', name: 'R1', kind: 'region', parentId: null },
    { id: 'c1', name: 'C1', kind: 'commune', parentId: 'r1' },
    { id: 'c2', name: 'C2', kind: 'commune', parentId: null },
  ],
  relayGroups: [{ id: 'g1', name: 'G1', hubSiteId: 'c2', siteIds: ['c2', 'c1'] }],
});

t.test('a dataset is checked whole; every problem is named', async (t) => {
  t.same(validateDataset(base()), [], 'any depth, a kind both top-level and under another');
  const bad = base();
  bad.kinds.push({ id: 'commune', label: { vi: 'x', en: 'x' }, parents: ['nowhere'] });
  t.match(validateDataset(bad), [/kind commune is declared twice/, /unknown parent kind nowhere/]);

  const tree = base();
  tree.sites.push(
    { id: 'v1', name: 'V', kind: 'village', parentId: 'c1' },
    { id: 'r2', name: 'R2', kind: 'region', parentId: 'c1' },
  );
  tree.sites[1] = { ...tree.sites[1]!, parentId: 'r2' };
  const problems = validateDataset(tree);
  t.ok(problems.includes('site v1 has unknown kind village'));
  t.ok(problems.includes('region r2 must have no parent'));
  t.ok(
    problems.some((p) => /its own ancestor/.test(p)),
    'a cycle',
  );

  const groups = base();
  groups.relayGroups!.push({ id: 'g2', name: 'G2', hubSiteId: 'r1', siteIds: ['c1', 'zz'] });
  t.match(validateDataset(groups), [
    /hub r1 must be one of its sites/,
    /site c1 is in relay groups g1 and g2/,
    /unknown site zz/,
  ]);
});

t.test('a bad dataset stops the fleet at start with a clear error', async (t) => {
  t.throws(() => parseDataset('{', 'x.json'), { code: 'FLEET_ERR_CONFIG', message: /x.json is not JSON/ });
  t.throws(() => parseDataset(JSON.stringify({ ...base(), v: 2 }), 'x.json'), DiemcauError);
  const invalid = { ...base(), relayGroups: [{ id: 'g1', name: 'G1', hubSiteId: 'r1', siteIds: ['c1'] }] };
  t.throws(() => parseDataset(JSON.stringify(invalid), 'x.json'), {
    code: 'FLEET_ERR_CONFIG',
    message: /hub r1 must be one of its sites/,
  });
  t.throws(() => loadDataset('no-such-dataset'), { code: 'FLEET_ERR_CONFIG', message: /cannot read/ });
});

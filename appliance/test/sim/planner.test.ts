import t from 'tap';
import { devicesPerSite, parseTokensFile, planDevices, sliceBounds } from '../../src/sim/planner.js';

t.test('devices go round-robin over the sites, each with its own folder', async (t) => {
  const plan = planDevices(['a', 'b', 'c'], 7);
  t.same(
    plan.map((p) => p.siteId),
    ['a', 'b', 'c', 'a', 'b', 'c', 'a'],
  );
  t.equal(new Set(plan.map((p) => p.dirName)).size, 7);
  t.same(
    [...devicesPerSite(plan)],
    [
      ['a', 3],
      ['b', 2],
      ['c', 2],
    ],
  );
  t.equal(planDevices(['a'], 10_000).length, 10_000);
  t.throws(() => planDevices([], 1));
});

t.test('tokens file: JSON or "siteId token" lines, problems named', async (t) => {
  t.same([...parseTokensFile('[{"siteId":"a","token":"t1"},{"siteId":"a","token":"t2"}]')], [['a', ['t1', 't2']]]);
  t.same(
    [...parseTokensFile('# minted today\na t1\n\nb t2\n')],
    [
      ['a', ['t1']],
      ['b', ['t2']],
    ],
  );
  t.throws(() => parseTokensFile('a t1 extra'), /line 1/);
  t.throws(() => parseTokensFile('[{"siteId":"a"}]'), /entry 0/);
});

t.test('slices cover every device once, sizes differing by at most one', async (t) => {
  for (const [total, n] of [
    [10_000, 3],
    [7, 4],
    [2, 5],
    [210, 1],
  ] as const) {
    const parts = Array.from({ length: n }, (_, k) => sliceBounds(total, k, n));
    t.equal(parts[0]!.from, 0, `${total}/${n} starts at 0`);
    t.equal(parts.at(-1)!.to, total, `${total}/${n} ends at the last device`);
    for (let k = 1; k < n; k++)
      t.equal(parts[k]!.from, parts[k - 1]!.to, `${total}/${n}: part ${k} follows part ${k - 1}`);
    const sizes = parts.map((p) => p.to - p.from);
    t.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `${total}/${n}: sizes ${sizes.join(',')}`);
  }
  t.throws(() => sliceBounds(10, 2, 2));
  t.throws(() => sliceBounds(10, 0, 0));
});

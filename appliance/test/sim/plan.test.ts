import t from 'tap';
import { devicesPerSite, parseTokensFile, planDevices } from '../../src/sim/plan.js';

t.test('devices go round-robin over the sites, each with its own folder', async (t) => {
  const plan = planDevices(['a', 'b', 'c'], 7);
  t.same(plan.map((p) => p.siteId), ['a', 'b', 'c', 'a', 'b', 'c', 'a']);
  t.equal(new Set(plan.map((p) => p.dirName)).size, 7);
  t.same([...devicesPerSite(plan)], [['a', 3], ['b', 2], ['c', 2]]);
  t.equal(planDevices(['a'], 10_000).length, 10_000);
  t.throws(() => planDevices([], 1));
});

t.test('tokens file: JSON or "siteId token" lines, problems named', async (t) => {
  t.same([...parseTokensFile('[{"siteId":"a","token":"t1"},{"siteId":"a","token":"t2"}]')], [['a', ['t1', 't2']]]);
  t.same([...parseTokensFile('# minted today\na t1\n\nb t2\n')], [['a', ['t1']], ['b', ['t2']]]);
  t.throws(() => parseTokensFile('a t1 extra'), /line 1/);
  t.throws(() => parseTokensFile('[{"siteId":"a"}]'), /entry 0/);
});

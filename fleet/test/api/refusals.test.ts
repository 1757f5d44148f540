import t from 'tap';
import { MinuteBudget, RefusalAggregator, type Refusal } from '../../src/api/refusals.js';

// The aggregation of refused requests is pure over the clock it is given:
// one audit row per (source, minute), bounded memory whatever arrives.

const MIN = 60_000;
const T0 = Date.UTC(2026, 11, 2, 10, 0, 0);
const refusal = (source: string, extra: Partial<Refusal> = {}): Refusal => ({
  source,
  status: 401,
  reason: 'no-token',
  route: 'POST /api/v1/operators',
  ...extra,
});
const details = (row: { details?: unknown }) =>
  row.details as Record<string, unknown> & { count: number; routes: Record<string, number> };

t.test('one row per source and minute, written when the minute is over', async (t) => {
  const agg = new RefusalAggregator();
  for (let i = 0; i < 500; i++)
    t.same(agg.add(refusal(i % 2 ? '10.0.0.1' : '10.0.0.2'), T0 + i * 10), [], 'nothing written inside the minute');
  t.same(agg.flushIfDue(T0 + 59_999), []);
  const rows = agg.flushIfDue(T0 + MIN);
  t.equal(rows.length, 2);
  t.match(rows[0], { action: 'http.refused', target: 'source:10.0.0.2', outcome: '250 refused', operatorId: null });
  t.match(details(rows[0]!), {
    minute: new Date(T0).toISOString(),
    count: 250,
    byStatus: { 401: 250 },
    reasons: { 'no-token': 250 },
    routes: { 'POST /api/v1/operators': 250 },
  });
  t.equal(agg.size, 0, 'forgotten once written');
  t.same(agg.flushIfDue(T0 + 2 * MIN), [], 'nothing twice');
});

t.test("the next minute's first refusal hands back the previous minute", async (t) => {
  const agg = new RefusalAggregator();
  agg.add(refusal('a'), T0);
  agg.add(refusal('a', { status: 403, reason: 'viewer-write', operatorId: 'op-v' }), T0 + 1);
  const rows = agg.add(refusal('a'), T0 + MIN + 5);
  t.equal(rows.length, 1);
  t.match(details(rows[0]!), {
    count: 2,
    byStatus: { 401: 1, 403: 1 },
    reasons: { 'no-token': 1, 'viewer-write': 1 },
    operators: ['op-v'],
  });
  t.equal(details(agg.drain()[0]!).count, 1, 'the new minute holds the third');
});

t.test('memory is bounded: sources, routes and probed paths', async (t) => {
  const agg = new RefusalAggregator({ maxSources: 100, maxRoutes: 3, maxSamples: 2 });
  for (let i = 0; i < 10_000; i++) agg.add(refusal(`10.1.${i >> 8}.${i & 255}`), T0 + (i % 1000));
  t.equal(agg.size, 101, '100 sources and one overflow row');
  for (let i = 0; i < 1000; i++)
    agg.add(refusal('10.1.0.0', { route: `GET (no route)`, path: `/${'x'.repeat(500)}${i}` }), T0);
  for (let i = 0; i < 50; i++) agg.add(refusal('10.1.0.0', { route: `GET /r${i}` }), T0);
  const rows = agg.drain();
  t.equal(rows.length, 101);
  const overflow = rows.find((r) => r.target === 'source:*')!;
  t.match(details(overflow), { count: 9900, sources: 9900 });
  const first = details(rows.find((r) => r.target === 'source:10.1.0.0')!);
  t.equal(Object.keys(first.routes).length, 3, 'at most maxRoutes routes named');
  t.equal(first.otherRoutes, 49, 'the rest counted (operators, no route and /r0 were named)');
  const paths = first.paths as string[];
  t.equal(paths.length, 2);
  t.ok(
    paths.every((p) => p.length <= 120),
    'probed paths shortened',
  );
});

t.test("an operator's own refusal rows are budgeted per minute", async (t) => {
  const b = new MinuteBudget(3);
  t.same(
    [1, 2, 3, 4].map(() => b.take('op-1', T0)),
    [true, true, true, false],
  );
  t.ok(b.take('op-2', T0), 'per operator');
  t.ok(b.take('op-1', T0 + MIN), 'a new minute, a new budget');
});

// The rules of the per-turn look-ups and writes on their own (the registry's
// suite counts what they save on both engines): one call per turn and chunk,
// a key asked twice in a turn looked up once, a later turn's key in a query
// of its own, a failed chunk failing only its own callers.
import t from 'tap';
import { TurnBatch, TurnWrites } from '../../src/db/turn-batch.js';

const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));
const outside = (): boolean => false;

t.test('look-ups of one turn go out together, in chunks', async (t) => {
  const calls: string[][] = [];
  const batch = new TurnBatch<string, number>(
    async (keys) => {
      calls.push(keys);
      return new Map(keys.filter((k) => k !== 'missing').map((k) => [k, k.length]));
    },
    outside,
    2,
  );
  const answers = await Promise.all(['a', 'bb', 'a', 'ccc', 'missing'].map((k) => batch.get(k)));
  t.same(answers, [1, 2, 1, 3, undefined], 'each caller gets its own key, a missing key undefined');
  t.same(
    calls,
    [
      ['a', 'bb'],
      ['ccc', 'missing'],
    ],
    'a key asked twice is looked up once; two keys per query',
  );
});

t.test('a key asked after its turn went out waits for a query of its own', async (t) => {
  const calls: string[][] = [];
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const batch = new TurnBatch<string, string>(async (keys) => {
    calls.push(keys);
    await held;
    return new Map(keys.map((k) => [k, `${k}:${calls.length}`]));
  }, outside);
  const first = batch.get('x');
  await nextTurn();
  t.same(calls, [['x']], 'the first turn went out');
  const second = batch.get('x');
  await nextTurn();
  release();
  t.equal(await first, 'x:2', 'answered when its query returns');
  t.equal(await second, 'x:2');
  t.same(calls, [['x'], ['x']], 'the later ask was a second query, not a share of the first');
});

t.test('a failed chunk fails its own callers only', async (t) => {
  const batch = new TurnBatch<number, number>(
    async (keys) => {
      if (keys.includes(3)) throw new Error('no such table');
      return new Map(keys.map((k) => [k, k * 10]));
    },
    outside,
    2,
  );
  const [a, b, c] = await Promise.allSettled([1, 2, 3].map((k) => batch.get(k)));
  t.same(
    [a, b],
    [
      { status: 'fulfilled', value: 10 },
      { status: 'fulfilled', value: 20 },
    ],
  );
  t.equal(c!.status, 'rejected');
  t.match((c as PromiseRejectedResult).reason, /no such table/);
});

t.test('writes of one turn: one call per chunk, a key written twice combined', async (t) => {
  const calls: Array<Array<[string, { a?: number; b?: number }]>> = [];
  const writes = new TurnWrites<string, { a?: number; b?: number }>(
    async (entries) => {
      calls.push(entries);
      if (entries.some(([k]) => k === 'bad')) throw new Error('refused');
    },
    outside,
    2,
    (earlier, later) => ({ ...earlier, ...later }),
  );
  const settled = await Promise.allSettled([
    writes.put('k1', { a: 1 }),
    writes.put('k2', { a: 2 }),
    writes.put('k1', { b: 3 }),
    writes.put('bad', { a: 4 }),
  ]);
  t.same(calls, [
    [
      ['k1', { a: 1, b: 3 }],
      ['k2', { a: 2 }],
    ],
    [['bad', { a: 4 }]],
  ]);
  t.same(
    settled.map((s) => s.status),
    ['fulfilled', 'fulfilled', 'fulfilled', 'rejected'],
    "the failed chunk's caller alone is refused",
  );
  const latest = new TurnWrites<string, number>(async (entries) => void calls.push(entries as never), outside, 10);
  calls.length = 0;
  await Promise.all([latest.put('k', 1), latest.put('k', 2)]);
  t.same(calls, [[['k', 2]]], 'by default the later value wins');
});

t.test('inside a transaction each call goes alone and at once, in its own turn', async (t) => {
  let inTx = true;
  const calls: string[][] = [];
  const batch = new TurnBatch<string, number>(
    async (keys) => {
      calls.push(keys);
      return new Map(keys.map((k) => [k, k.length]));
    },
    () => inTx,
  );
  const a = batch.get('a');
  const b = batch.get('bb');
  t.same(calls, [['a'], ['bb']], 'both asked before the turn ended, each alone');
  t.same(await Promise.all([a, b]), [1, 2]);
  const writes: Array<Array<[string, number]>> = [];
  const w = new TurnWrites<string, number>(
    async (e) => void writes.push(e),
    () => inTx,
    10,
  );
  const done = w.put('k', 1);
  t.same(writes, [[['k', 1]]], 'the write went out at once');
  await done;
  inTx = false;
  calls.length = 0;
  await Promise.all([batch.get('x'), batch.get('yy')]);
  t.same(calls, [['x', 'yy']], 'outside again: gathered');
});

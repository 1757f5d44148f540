// Presence writes of one turn of the event loop go to the registry as one
// write, and each device's writes still happen in the order they were asked.
import t from 'tap';
import { KeyedSerial } from '../../src/keyed-serial.js';
import { WriteBatcher } from '../../src/presence/write-batch.js';

const turn = () => new Promise((r) => setImmediate(r));

t.test('one write per turn, the latest value per device', async (t) => {
  const serial = new KeyedSerial();
  const writes: Array<Array<[string, number]>> = [];
  const batcher = new WriteBatcher<number>(serial, async (rows) => void writes.push([...rows]));
  for (let i = 0; i < 1000; i++) batcher.add(`dev-${i % 400}`, i);
  await turn();
  await serial.idle();
  t.equal(writes.length, 1, 'one write');
  t.equal(writes[0]!.length, 400, 'one row per device');
  t.same(
    writes[0]!.find(([id]) => id === 'dev-7'),
    ['dev-7', 807],
    'with its latest value',
  );
  batcher.add('dev-1', 1);
  await serial.idle();
  t.equal(writes.length, 2, 'the next turn is the next write');
});

t.test("a batch waits for each device's earlier writes, and its later ones wait for the batch", async (t) => {
  const serial = new KeyedSerial();
  const log: string[] = [];
  let release!: () => void;
  const slow = new Promise<void>((r) => (release = r));
  void serial.run('dev-a', async () => {
    await slow;
    log.push('earlier write of dev-a');
  });
  const batcher = new WriteBatcher<boolean>(serial, async (rows) => {
    log.push(`batch of ${[...rows.keys()].join(',')}`);
  });
  batcher.add('dev-a', true);
  batcher.add('dev-b', true);
  void serial.run('dev-b', async () => void log.push('later write of dev-b'));
  for (let i = 0; i < 5; i++) await turn();
  t.same(log, [], 'nothing written while dev-a is still writing');
  release();
  await serial.idle();
  t.same(log, ['earlier write of dev-a', 'batch of dev-a,dev-b', 'later write of dev-b']);
});

t.test('a failed write does not stop the devices behind it', async (t) => {
  const serial = new KeyedSerial();
  let calls = 0;
  const batcher = new WriteBatcher<number>(serial, async () => {
    calls++;
    if (calls === 1) throw new Error('store refused');
  });
  batcher.add('dev-a', 1);
  await turn();
  batcher.add('dev-a', 2);
  await serial.idle();
  t.equal(calls, 2, 'the next batch is written');
});

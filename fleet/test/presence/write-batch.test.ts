// Presence writes within a window go to the registry as one write, and each
// device's writes still happen in the order they were asked.
import t from 'tap';
import { KeyedSerial } from '../../src/keyed-serial.js';
import { WriteBatcher } from '../../src/presence/write-batch.js';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('one write per window, the latest value per device', async (t) => {
  const serial = new KeyedSerial();
  const writes: Array<Array<[string, number]>> = [];
  const batcher = new WriteBatcher<number>(serial, 1500, async (rows) => void writes.push([...rows]));
  for (let i = 0; i < 1000; i++) {
    batcher.add(`dev-${i % 400}`, i);
    // Spread over turns of the event loop, as logins come.
    if (i % 100 === 0) await pause(1);
  }
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
  t.equal(writes.length, 2, 'the next window is the next write');
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
  const batcher = new WriteBatcher<boolean>(serial, 0, async (rows) => {
    log.push(`batch of ${[...rows.keys()].join(',')}`);
  });
  batcher.add('dev-a', true);
  batcher.add('dev-b', true);
  void serial.run('dev-b', async () => void log.push('later write of dev-b'));
  await pause(50);
  t.same(log, [], 'nothing written while dev-a is still writing');
  release();
  await serial.idle();
  t.same(log, ['earlier write of dev-a', 'batch of dev-a,dev-b', 'later write of dev-b']);
});

t.test('a failed write does not stop the devices behind it', async (t) => {
  const serial = new KeyedSerial();
  let calls = 0;
  const batcher = new WriteBatcher<number>(serial, 0, async () => {
    calls++;
    if (calls === 1) throw new Error('store refused');
  });
  batcher.add('dev-a', 1);
  await pause(20);
  batcher.add('dev-a', 2);
  await serial.idle();
  t.equal(calls, 2, 'the next batch is written');
});

t.test('a write for many devices closes the batch gathering them, and never waits on itself', async (t) => {
  const serial = new KeyedSerial();
  const log: string[] = [];
  const batcher = new WriteBatcher<boolean>(serial, 100, async (rows) => {
    log.push(`batch of ${[...rows.keys()].join(',')}`);
  });
  batcher.add('dev-a', true);
  const many = batcher.writeAll(['dev-a', 'dev-b', 'dev-a'], async () => void log.push('many'));
  // Had it joined the batch still gathering, that batch would wait for dev-b's turn behind
  // the write for many, which waits for the batch: neither would ever be written.
  batcher.add('dev-b', false);
  await many;
  await serial.idle();
  t.same(log, ['batch of dev-a', 'many', 'batch of dev-b']);
  await t.resolves(
    batcher.writeAll([], async () => undefined),
    'no devices: written at once',
  );
});

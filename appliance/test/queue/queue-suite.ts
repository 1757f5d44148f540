import type { Test } from 'tap';
import type { DurableQueue } from '../../src/queue/index.js';

// One contract, every implementation (the MQTT.js abstract_store pattern).
// `make` gets a bound and returns a fresh, empty queue.
export function queueContract(t: Test, make: (maxRecords: number) => Promise<DurableQueue>): void {
  t.test('empty queue has no head', async (t) => {
    const q = await make(10);
    t.equal(q.peek(), undefined);
    t.equal(q.stats().size, 0);
    await q.close();
  });

  t.test('delivers in append order, one ack at a time', async (t) => {
    const q = await make(100);
    for (let i = 0; i < 5; i++) await q.append('telemetry', `m${i}`);
    const seen: string[] = [];
    for (let h = q.peek(); h; h = q.peek()) {
      seen.push(h.payload);
      t.equal(h.channel, 'telemetry');
      t.ok(await q.ack(h.index));
    }
    t.same(seen, ['m0', 'm1', 'm2', 'm3', 'm4']);
    t.equal(q.stats().size, 0);
    await q.close();
  });

  t.test('peek does not remove; a stale or repeated ack is ignored', async (t) => {
    const q = await make(10);
    await q.append('telemetry', 'a');
    await q.append('telemetry', 'b');
    const h = q.peek()!;
    t.equal(q.peek()!.index, h.index, 'peek twice gives the same head');
    t.notOk(await q.ack(h.index + 1), 'ack of a record that is not the head');
    t.equal(q.peek()!.payload, 'a');
    t.ok(await q.ack(h.index));
    t.notOk(await q.ack(h.index), 'second ack of the same record');
    t.equal(q.peek()!.payload, 'b');
    await q.close();
  });

  t.test('bounded: oldest dropped, count reported with the next head and reset by its ack', async (t) => {
    const q = await make(3);
    for (let i = 0; i < 8; i++) await q.append('telemetry', `m${i}`);
    t.equal(q.stats().size, 3);
    const h = q.peek()!;
    t.equal(h.payload, 'm5', 'the newest three are kept');
    t.equal(h.droppedBefore, 5);
    t.equal(q.stats().droppedTotal, 5);
    await q.ack(h.index);
    t.equal(q.peek()!.droppedBefore, 0, 'count goes with the delivered record only');
    await q.close();
  });

  t.test('a drop while the head is in flight makes its ack stale', async (t) => {
    const q = await make(2);
    await q.append('telemetry', 'a');
    await q.append('telemetry', 'b');
    const inFlight = q.peek()!;
    await q.append('telemetry', 'c'); // pushes 'a' out
    t.notOk(await q.ack(inFlight.index));
    t.equal(q.peek()!.payload, 'b');
    t.equal(q.peek()!.droppedBefore, 1);
    await q.close();
  });

  t.test('onAppend wakes a waiting consumer; a throwing listener breaks nothing', async (t) => {
    const q = await make(10);
    let calls = 0;
    q.onAppend(() => {
      throw new Error('listener bug');
    });
    const off = q.onAppend(() => calls++);
    await q.append('events', 'x');
    off();
    await q.append('events', 'y');
    t.equal(calls, 1);
    t.equal(q.stats().size, 2);
    await q.close();
  });

  t.test('concurrent appends keep their call order', async (t) => {
    const q = await make(1000);
    await Promise.all(Array.from({ length: 50 }, (_, i) => q.append('telemetry', String(i))));
    const out: number[] = [];
    for (let h = q.peek(); h; h = q.peek()) {
      out.push(Number(h.payload));
      await q.ack(h.index);
    }
    t.same(
      out,
      Array.from({ length: 50 }, (_, i) => i),
    );
    await q.close();
  });

  t.test('close is idempotent', async (t) => {
    const q = await make(10);
    await q.close();
    await q.close();
    t.pass();
  });
}

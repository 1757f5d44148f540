import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { DiskQueue } from '../../src/queue/index.js';
import { queueContract } from './queue-suite.js';

function tempDir(t: Test): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-queue-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

for (const fsync of [false, true]) {
  t.test(`contract (fsync ${fsync})`, async (t) => {
    queueContract(t, async (maxRecords) =>
      DiskQueue.open({ dir: path.join(tempDir(t), 'q'), maxRecords, fsync, segmentRecords: 4 }),
    );
  });
}

const drain = async (q: DiskQueue): Promise<string[]> => {
  const out: string[] = [];
  for (let h = q.peek(); h; h = q.peek()) {
    out.push(h.payload);
    await q.ack(h.index);
  }
  return out;
};

t.test('pending records and the committed offset survive a reopen', async (t) => {
  const dir = tempDir(t);
  const a = await DiskQueue.open({ dir, maxRecords: 100, fsync: false, segmentRecords: 3 });
  for (let i = 0; i < 10; i++) await a.append('telemetry', `m${i}`);
  await a.ack(a.peek()!.index);
  await a.ack(a.peek()!.index);
  await a.close(); // writes the committed offset the acks are still holding
  const b = await DiskQueue.open({ dir, maxRecords: 100, fsync: false, segmentRecords: 3 });
  t.equal(b.stats().size, 8);
  await b.append('telemetry', 'm10');
  t.same(await drain(b), ['m2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8', 'm9', 'm10']);
  await b.close();
});

t.test('consumed segments are deleted but the newest, which later appends go on filling', async (t) => {
  const dir = tempDir(t);
  const segs = (): string[] => fs.readdirSync(dir).filter((f) => f.startsWith('seg-'));
  const q = await DiskQueue.open({ dir, maxRecords: 100, fsync: false, segmentRecords: 2, commitDelayMs: 0 });
  for (let i = 0; i < 7; i++) await q.append('telemetry', `m${i}`);
  t.equal(segs().length, 4);
  await q.ack(q.peek()!.index);
  await q.ack(q.peek()!.index);
  await q.ack(q.peek()!.index);
  t.equal(segs().length, 3, 'first segment gone');
  await drain(q);
  t.same(segs(), ['seg-0000000000000006.log'], 'all consumed; the newest segment stays');
  await q.append('telemetry', 'm7');
  t.same(segs(), ['seg-0000000000000006.log'], 'and takes the next record');
  await drain(q);
  // A sample at a time, as a box sends them: the folder never holds more than two segments.
  let most = 0;
  for (let i = 8; i < 40; i++) {
    await q.append('telemetry', `m${i}`);
    await drain(q);
    most = Math.max(most, segs().length);
  }
  t.ok(most <= 2, `at most two segments at once (${most})`);
  t.equal(q.newest('telemetry')?.payload, 'm39');
  await q.close();
  const again = await DiskQueue.open({ dir, maxRecords: 100, fsync: false, segmentRecords: 2 });
  t.equal(again.stats().size, 0, 'nothing delivered twice after a clean stop');
  t.same(
    again.newest('telemetry'),
    { index: 39, channel: 'telemetry', payload: 'm39' },
    'the newest record, though sent, is still on disk',
  );
  await again.close();
});

t.test('the committed offset is written after the commit delay or at close, not at each ack', async (t) => {
  const dir = tempDir(t);
  const state = (): unknown => JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8'));
  const q = await DiskQueue.open({ dir, maxRecords: 100, fsync: false, commitDelayMs: 300 });
  for (let i = 0; i < 3; i++) await q.append('telemetry', `m${i}`);
  await q.ack(q.peek()!.index);
  await q.ack(q.peek()!.index);
  t.notOk(fs.existsSync(path.join(dir, 'state.json')), 'the acks are held in memory');
  // A crash now (another handle reads the disk): the two acknowledged records come again, none is lost.
  const crashed = await DiskQueue.open({ dir, maxRecords: 100, fsync: false });
  t.same(
    [crashed.peek()?.payload, crashed.stats().size],
    ['m0', 3],
    'at least once: the acknowledged records are delivered again',
  );
  await crashed.close();
  await new Promise((r) => setTimeout(r, 600));
  t.same(state(), { committed: 2, dropped: 0 }, 'written once the delay passed');
  await q.ack(q.peek()!.index);
  t.same(state(), { committed: 2, dropped: 0 });
  await q.close();
  t.same(state(), { committed: 3, dropped: 0 }, 'close writes what was held');
});

t.test('a commit that failed is tried again, and close writes what the acks still hold', async (t) => {
  const dir = tempDir(t);
  const warnings: string[] = [];
  const q = await DiskQueue.open({
    dir,
    maxRecords: 100,
    fsync: false,
    commitDelayMs: 50,
    onWarning: (m) => warnings.push(m),
  });
  for (let i = 0; i < 3; i++) await q.append('telemetry', `m${i}`);
  // A directory where state.json goes: every write of the offset fails until it is gone.
  fs.mkdirSync(path.join(dir, 'state.json', 'blocked'), { recursive: true });
  await q.ack(q.peek()!.index);
  await q.ack(q.peek()!.index);
  await new Promise((r) => setTimeout(r, 300));
  t.ok(
    warnings.some((w) => /committed offset failed/.test(w)),
    'the failed write is reported',
  );
  fs.rmSync(path.join(dir, 'state.json'), { recursive: true });
  await q.close();
  t.same(JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')), { committed: 2, dropped: 0 });
  const again = await DiskQueue.open({ dir, maxRecords: 100, fsync: false });
  t.equal(again.peek()?.payload, 'm2', 'nothing acknowledged comes again');
  await again.close();
});

t.test('after lines lost behind a saved offset (a power cut, fsync off) new records start a new segment', async (t) => {
  const dir = tempDir(t);
  fs.writeFileSync(
    path.join(dir, 'seg-0000000000000000.log'),
    '{"i":0,"c":"telemetry","p":"a"}\n{"i":1,"c":"telemetry","p":"b"}\n',
  );
  // The offset says 5: records 2..4 were written and acknowledged, then lost from the page cache.
  fs.writeFileSync(path.join(dir, 'state.json'), JSON.stringify({ committed: 5, dropped: 0 }));
  const q = await DiskQueue.open({ dir, maxRecords: 100, fsync: false, segmentRecords: 4, commitDelayMs: 0 });
  for (const p of ['c', 'd', 'e']) await q.append('telemetry', p);
  await q.ack(q.peek()!.index);
  await q.close();
  const again = await DiskQueue.open({ dir, maxRecords: 100, fsync: false, segmentRecords: 4 });
  t.same(await drain(again), ['d', 'e'], 'the records after the acknowledged one are all there');
  await again.close();
});

t.test('the newest record of each channel is read back at open', async (t) => {
  const dir = tempDir(t);
  const a = await DiskQueue.open({ dir, maxRecords: 100, fsync: false, segmentRecords: 3 });
  await a.append('telemetry', 't0');
  await a.append('command-result', 'r0');
  await a.append('telemetry', 't1');
  await a.append('command-result', 'r1');
  await drain(a);
  await a.close();
  const b = await DiskQueue.open({ dir, maxRecords: 100, fsync: false, segmentRecords: 3 });
  t.equal(b.newest('command-result')?.payload, 'r1');
  // t1 was in the first segment, deleted once consumed; only the newest segment is kept.
  t.equal(b.newest('telemetry'), undefined, 'a channel whose newest record went with a consumed segment');
  t.equal(b.newest('nothing'), undefined);
  await b.close();
});

t.test('the drop count survives a restart and reaches the next delivered record', async (t) => {
  const dir = tempDir(t);
  const a = await DiskQueue.open({ dir, maxRecords: 3, fsync: false });
  for (let i = 0; i < 7; i++) await a.append('telemetry', `m${i}`);
  await a.close();
  const b = await DiskQueue.open({ dir, maxRecords: 3, fsync: false });
  t.equal(b.peek()!.payload, 'm4');
  t.equal(b.peek()!.droppedBefore, 4);
  await b.close();
  // A smaller bound after an upgrade drops on open and counts that too.
  const c = await DiskQueue.open({ dir, maxRecords: 1, fsync: false });
  t.equal(c.peek()!.payload, 'm6');
  t.equal(c.peek()!.droppedBefore, 6);
  await c.close();
});

t.test('a torn last line (crash mid-write) is cut off; the rest is delivered', async (t) => {
  const dir = tempDir(t);
  const a = await DiskQueue.open({ dir, maxRecords: 100, fsync: false });
  await a.append('telemetry', 'm0');
  await a.append('telemetry', 'm1');
  await a.close();
  const seg = fs.readdirSync(dir).find((f) => f.startsWith('seg-'))!;
  fs.appendFileSync(path.join(dir, seg), '{"i":2,"c":"telemetry","p":"m');
  const warnings: string[] = [];
  const b = await DiskQueue.open({ dir, maxRecords: 100, fsync: false, onWarning: (m) => warnings.push(m) });
  t.match(warnings, [/torn/]);
  await b.append('telemetry', 'm2');
  t.same(await drain(b), ['m0', 'm1', 'm2']);
  await b.close();
  const c = await DiskQueue.open({ dir, maxRecords: 100, fsync: false });
  t.equal(c.stats().size, 0, 'the repaired file reads clean');
  await c.close();
});

t.test('an unreadable line in the middle is skipped and reported, not fatal', async (t) => {
  const dir = tempDir(t);
  fs.writeFileSync(
    path.join(dir, 'seg-0000000000000000.log'),
    '{"i":0,"c":"telemetry","p":"a"}\n\u0000garbage\n{"i":2,"c":"telemetry","p":"c"}\n',
  );
  const warnings: string[] = [];
  const q = await DiskQueue.open({ dir, maxRecords: 100, fsync: false, onWarning: (m) => warnings.push(m) });
  t.match(warnings, [/unreadable/]);
  t.same(await drain(q), ['a', 'c']);
  await q.close();
});

t.test('files are private to the agent', async (t) => {
  const dir = path.join(tempDir(t), 'q');
  const q = await DiskQueue.open({ dir, maxRecords: 10, fsync: true });
  await q.append('telemetry', 'x');
  await q.ack(q.peek()!.index);
  await q.append('telemetry', 'y');
  t.equal(fs.statSync(dir).mode & 0o777, 0o700);
  for (const f of fs.readdirSync(dir)) t.equal(fs.statSync(path.join(dir, f)).mode & 0o077, 0, f);
  await q.close();
});

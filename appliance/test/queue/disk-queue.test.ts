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
  await a.close();
  // No close at all would be the same on disk: writes are not buffered in the process.
  const b = await DiskQueue.open({ dir, maxRecords: 100, fsync: false, segmentRecords: 3 });
  t.equal(b.stats().size, 8);
  await b.append('telemetry', 'm10');
  t.same(await drain(b), ['m2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8', 'm9', 'm10']);
  await b.close();
});

t.test('consumed segments are deleted, the directory does not grow', async (t) => {
  const dir = tempDir(t);
  const q = await DiskQueue.open({ dir, maxRecords: 100, fsync: false, segmentRecords: 2 });
  for (let i = 0; i < 7; i++) await q.append('telemetry', `m${i}`);
  t.equal(fs.readdirSync(dir).filter((f) => f.startsWith('seg-')).length, 4);
  await q.ack(q.peek()!.index);
  await q.ack(q.peek()!.index);
  await q.ack(q.peek()!.index);
  t.equal(fs.readdirSync(dir).filter((f) => f.startsWith('seg-')).length, 3, 'first segment gone');
  await drain(q);
  t.same(
    fs.readdirSync(dir).filter((f) => f.startsWith('seg-')),
    [],
    'all consumed',
  );
  await q.close();
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

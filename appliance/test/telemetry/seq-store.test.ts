import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { RESERVE, SeqStore } from '../../src/telemetry/seq-store.js';

// The telemetry sequence number: never reused, no gap across a restart, and
// the file written once per RESERVE numbers instead of once per sample.

function seqFile(t: Test): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-seq-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'telemetry-seq');
}

const read = (file: string): number => Number(fs.readFileSync(file, 'utf8'));
const take = async (s: SeqStore, n: number): Promise<number[]> => {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await s.next());
  return out;
};

t.test('the file holds a bound written once per RESERVE numbers; close writes the exact next one', async (t) => {
  const file = seqFile(t);
  const s = new SeqStore(file, false);
  t.same(await take(s, 3), [0, 1, 2]);
  t.equal(read(file), RESERVE, 'the first number reserved a block');
  const ino = fs.statSync(file).ino;
  await take(s, 10);
  t.equal(fs.statSync(file).ino, ino, 'no write (a write replaces the file) within the block');
  await take(s, RESERVE - 13);
  t.equal(read(file), RESERVE, 'still the first block');
  t.equal(await s.next(), RESERVE);
  t.equal(read(file), 2 * RESERVE, 'the next block reserved when the first ran out');
  await s.close();
  t.equal(read(file), RESERVE + 1, 'close: the exact next number');
  const again = new SeqStore(file, false);
  t.equal(await again.next(), RESERVE + 1, 'a restart after a clean stop goes on from there');
});

t.test('after a crash the queue names the last number: no gap, no reuse', async (t) => {
  const file = seqFile(t);
  const s = new SeqStore(file, false);
  await take(s, 42); // 0..41 handed out; the process dies without close()
  t.equal(read(file), RESERVE);
  // The newest sample in the queue is 41 (the one being taken when the power went is not in it).
  const after = new SeqStore(file, false, 41);
  t.same(await take(after, 2), [42, 43]);
  t.equal(read(file), RESERVE, 'still inside the reserved block: nothing written');
});

t.test('without the queue the bound is used: a gap, never a reuse', async (t) => {
  const file = seqFile(t);
  await take(new SeqStore(file, false), 5);
  const after = new SeqStore(file, false, undefined);
  t.equal(await after.next(), RESERVE);
  t.equal(read(file), 2 * RESERVE);
});

t.test('a queue ahead of the file (the file lost or rolled back) wins and is reserved past', async (t) => {
  const file = seqFile(t);
  fs.writeFileSync(file, '3');
  const s = new SeqStore(file, false, 5000);
  t.equal(await s.next(), 5001);
  t.equal(read(file), 5001 + RESERVE);
  fs.writeFileSync(file, 'garbage');
  t.equal(await new SeqStore(file, false, 7).next(), 8, 'an unreadable file counts as 0');
  fs.rmSync(file);
  t.equal(await new SeqStore(file, false).next(), 0, 'a first start');
});

t.test('concurrent callers get distinct numbers in call order', async (t) => {
  const file = seqFile(t);
  const s = new SeqStore(file, true);
  t.same(await Promise.all(Array.from({ length: 20 }, () => s.next())), [...Array(20).keys()]);
  await s.close();
  t.equal(read(file), 20);
});

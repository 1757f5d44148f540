import fs from 'node:fs';
import path from 'node:path';
import { DiemcauError, fsyncDir, writeFileAtomic, Events } from '@diemcau/shared';
import {
  encodeRecord,
  parseSegment,
  parseSegmentName,
  parseState,
  segmentName,
  type QueueState,
} from './segment-format.js';
import type { DurableQueue, QueueHead, QueueOptions, QueueRecord, QueueStats } from './types.js';

// Append-only segment files plus a committed offset (state.json).
//
//   queue/seg-0000000000000000.log   records 0..999, one JSON line each
//   queue/seg-0000000000001000.log   records 1000.., the one being appended to
//   queue/state.json                 {"committed": 1234, "dropped": 0}
//
// Records below `committed` are acknowledged (or dropped); a segment whose
// records are all below it is deleted, except the newest one: appends go on
// filling it (up to `segmentRecords`), and it keeps the newest record ever
// appended on disk (newest()). A file per record cost a create, an unlink and,
// on a box, a directory fsync for every telemetry sample. Every record pending
// is also kept in memory (the queue is bounded), so peek() needs no disk read.
//
// The committed offset is written at most once per `commitDelayMs` (and at
// close): an ack only moves it in memory and arms the write. A crash within
// that delay delivers the acknowledged records again, which QoS 1 allows (at
// least once) and the fleet drops by sequence number; a box sampling every
// 10 s writes state.json a third as often. Segments go only after the offset
// that consumed them is written.
//
// fsync policy (option `fsync`):
// - true (real boxes): each append is fsynced before append() resolves, state.json
//   is replaced atomically and fsynced. A resolved append survives a power cut.
// - false (simulated fleets, thousands of queues in one process): writes land in
//   the page cache. They survive the process being killed (kill -9, OOM, crash),
//   not a power cut within the kernel's writeback delay. A torn last line is cut
//   off on recovery; a committed offset that went backwards only redelivers,
//   and the fleet drops duplicates by sequence number.
// File descriptors are not held open between writes: 10,000 simulated agents in
// one process would otherwise need 10,000 extra descriptors.

export interface DiskQueueOptions extends QueueOptions {
  dir: string;
  fsync: boolean;
  /** Records per segment file before starting the next one. */
  segmentRecords?: number;
  /** Longest an acknowledgement waits before the committed offset is written; 0 writes at every ack. */
  commitDelayMs?: number;
  onWarning?: (msg: string, details: Record<string, unknown>) => void;
}

interface Segment {
  first: number;
  /** Records written into the file (acknowledged ones included). */
  count: number;
  bytes: number;
  file: string;
  /** Takes no more records: its last index is not the one before the next append (lines lost to a power cut). */
  sealed?: boolean;
}

const STATE_FILE = 'state.json';
const COMMIT_DELAY_MS = 30_000;

export class DiskQueue implements DurableQueue {
  private records: QueueRecord[] = [];
  private head = 0;
  private segments: Segment[] = [];
  private nextIndex = 0;
  private state: QueueState = { committed: 0, dropped: 0 };
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;
  private droppedTotal = 0;
  private appendedTotal = 0;
  private ackedTotal = 0;
  /** A listener's bug must not lose a record that is already stored: its error is dropped. */
  private readonly listeners = new Events<{ append: [] }>();
  private readonly segmentRecords: number;
  private readonly commitDelayMs: number;
  /** Set while acknowledgements are only in memory; fires the write of the committed offset. */
  private commitTimer: NodeJS.Timeout | undefined;
  /** The offset in memory is ahead of state.json (acks not yet written, or their write failed). */
  private unsaved = false;
  /** The newest record of each channel read or written (see newest()). */
  private readonly newestByChannel = new Map<string, QueueRecord>();

  private constructor(private readonly opts: DiskQueueOptions) {
    this.segmentRecords = opts.segmentRecords ?? 1000;
    this.commitDelayMs = opts.commitDelayMs ?? COMMIT_DELAY_MS;
  }

  /** Opens (and recovers) the queue in `dir`, creating it when missing. */
  static async open(opts: DiskQueueOptions): Promise<DiskQueue> {
    const q = new DiskQueue(opts);
    try {
      await q.recover();
    } catch (err) {
      throw new DiemcauError('APPL_ERR_QUEUE', `cannot open queue in ${opts.dir}`, { cause: err });
    }
    return q;
  }

  private async recover(): Promise<void> {
    const { dir } = this.opts;
    await fs.promises.mkdir(dir, { recursive: true, mode: 0o700 });
    const stateText = await fs.promises
      .readFile(path.join(dir, STATE_FILE), 'utf8')
      .catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return undefined;
        throw err;
      });
    this.state = parseState(stateText);
    const names = (await fs.promises.readdir(dir))
      .map((name) => ({ name, first: parseSegmentName(name) }))
      .filter((s): s is { name: string; first: number } => s.first !== null)
      .sort((a, b) => a.first - b.first);
    let last = -1;
    for (const [i, { name, first }] of names.entries()) {
      const file = path.join(dir, name);
      const buf = await fs.promises.readFile(file);
      const parsed = parseSegment(buf);
      if (parsed.tornTail) {
        // Only the newest segment can be torn by a crash; cut it back to whole lines.
        this.warn('queue segment had a torn last line; cut off', { file, bytes: buf.length - parsed.validBytes });
        if (i === names.length - 1) await fs.promises.truncate(file, parsed.validBytes);
      }
      if (parsed.corruptLines > 0)
        this.warn('queue segment had unreadable lines; skipped', { file, lines: parsed.corruptLines });
      for (const rec of parsed.records) {
        if (rec.index <= last) continue; // never deliver out of order
        last = rec.index;
        this.newestByChannel.set(rec.channel, rec);
        if (rec.index >= this.state.committed) this.records.push(rec);
      }
      this.segments.push({ first, count: parsed.records.length + parsed.corruptLines, bytes: parsed.validBytes, file });
    }
    this.nextIndex = Math.max(this.state.committed, last + 1);
    // A segment's records run first..first+count-1, which is what decides when it goes: one whose
    // newest lines were lost (fsync off, a power cut) behind a saved offset takes no new record.
    const tail = this.segments.at(-1);
    if (tail && tail.first + tail.count !== this.nextIndex) tail.sealed = true;
    await this.enforceBound();
    await this.removeConsumedSegments();
  }

  append(channel: string, payload: string): Promise<void> {
    return this.serial(async () => {
      if (this.closed) throw new DiemcauError('APPL_ERR_QUEUE', 'queue is closed');
      const rec: QueueRecord = { index: this.nextIndex, channel, payload };
      const line = Buffer.from(encodeRecord(rec));
      let seg = this.segments[this.segments.length - 1];
      if (!seg || seg.count >= this.segmentRecords || seg.sealed) {
        seg = { first: rec.index, count: 0, bytes: 0, file: path.join(this.opts.dir, segmentName(rec.index)) };
        this.segments.push(seg);
      }
      try {
        await appendLine(seg.file, line, this.opts.fsync);
        // A new file is only durable once its directory entry is.
        if (this.opts.fsync && seg.count === 0) await fsyncDir(this.opts.dir);
      } catch (err) {
        // A short write (disk full) would glue a torn line to the next record: cut it back.
        await fs.promises.truncate(seg.file, seg.bytes).catch(() => undefined);
        throw new DiemcauError('APPL_ERR_QUEUE', `append to ${seg.file} failed`, { cause: err });
      }
      this.nextIndex++;
      seg.count++;
      seg.bytes += line.length;
      this.records.push(rec);
      this.newestByChannel.set(channel, rec);
      this.appendedTotal++;
      await this.enforceBound();
      this.listeners.emit('append');
    });
  }

  peek(): QueueHead | undefined {
    const rec = this.records[this.head];
    return rec ? { ...rec, droppedBefore: this.state.dropped } : undefined;
  }

  ack(index: number): Promise<boolean> {
    return this.serial(async () => {
      if (this.closed || this.records[this.head]?.index !== index) return false;
      this.head++;
      this.compact();
      this.ackedTotal++;
      this.state = { committed: index + 1, dropped: 0 };
      this.unsaved = true;
      if (this.commitDelayMs <= 0) await this.commit();
      else this.armCommit();
      return true;
    });
  }

  /** The write of the offset, `commitDelayMs` from now; a failed one is tried again as late, and close() writes what is left. */
  private armCommit(): void {
    this.commitTimer ??= setTimeout(() => {
      this.commitTimer = undefined;
      if (this.closed) return;
      void this.serial(() => this.commit()).catch((err: unknown) => {
        this.commitFailed(err);
        if (!this.closed) this.armCommit();
      });
    }, this.commitDelayMs).unref();
  }

  /**
   * The newest record of `channel` still on disk, acknowledged or not, as of
   * this handle (read at open, then each append). The newest record of all is
   * always on disk (its segment is kept); an older channel's may have gone
   * with a consumed segment.
   */
  newest(channel: string): QueueRecord | undefined {
    return this.newestByChannel.get(channel);
  }

  stats(): QueueStats {
    return {
      size: this.records.length - this.head,
      pendingDropped: this.state.dropped,
      droppedTotal: this.droppedTotal,
      appendedTotal: this.appendedTotal,
      ackedTotal: this.ackedTotal,
    };
  }

  onAppend(listener: () => void): () => void {
    return this.listeners.on('append', listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.removeAll();
    await this.chain.catch(() => undefined);
    if (this.unsaved) await this.commit().catch((err: unknown) => this.commitFailed(err));
  }

  /** Drops the oldest records beyond the bound and counts them. */
  private async enforceBound(): Promise<void> {
    const over = this.records.length - this.head - this.opts.maxRecords;
    if (over <= 0) return;
    this.head += over;
    this.compact();
    this.droppedTotal += over;
    const newHead = this.records[this.head];
    this.state = { committed: newHead ? newHead.index : this.nextIndex, dropped: this.state.dropped + over };
    await this.commit();
  }

  /** Writes the committed offset (and what acks are waiting to be written with it), then drops the segments it consumed. */
  private async commit(): Promise<void> {
    clearTimeout(this.commitTimer);
    this.commitTimer = undefined;
    await this.saveState();
    this.unsaved = false;
    await this.removeConsumedSegments();
  }

  /** A failed write of the offset loses nothing: the records it acknowledged come again after a restart. */
  private commitFailed(err: unknown): void {
    this.warn('writing the committed offset failed; acknowledged records may be delivered again after a restart', {
      err: { message: (err as Error).message },
    });
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.records.length) {
      this.records = this.records.slice(this.head);
      this.head = 0;
    }
  }

  private async saveState(): Promise<void> {
    await writeFileAtomic(path.join(this.opts.dir, STATE_FILE), JSON.stringify(this.state), { fsync: this.opts.fsync });
  }

  /** Deletes segments whose every record is below the committed offset (after the offset is saved), except the newest. */
  private async removeConsumedSegments(): Promise<void> {
    while (this.segments.length > 1) {
      const seg = this.segments[0]!;
      if (seg.first + seg.count > this.state.committed) break;
      await fs.promises.rm(seg.file, { force: true });
      this.segments.shift();
    }
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private warn(msg: string, details: Record<string, unknown>): void {
    this.opts.onWarning?.(msg, details);
  }
}

async function appendLine(file: string, line: Buffer, fsync: boolean): Promise<void> {
  const fh = await fs.promises.open(file, 'a', 0o600);
  try {
    await fh.write(line);
    if (fsync) await fh.sync();
  } finally {
    await fh.close();
  }
}

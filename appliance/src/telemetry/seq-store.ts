import fs from 'node:fs';
import { writeFileAtomic } from '@diemcau/shared';

// The telemetry sequence number, kept across restarts: never reused (two
// different samples with one number, which the fleet would silently dedupe),
// and without a gap after a restart or a crash (a gap reads as samples lost).
//
// The file holds a bound: every number handed out is below it. It is written
// once per RESERVE numbers, not per sample (a sample every 10 s wrote it, an
// fsync and a rename, 8,640 times a day). At start the next number is one past
// the newest sample in the agent's queue (`last`: every sample that left the
// box went through it, and the queue keeps its newest record on disk), else
// the bound; a crash so loses no number, and a lost queue only skips some.
// close() writes the exact next number.

/** Numbers reserved by one write of the file. */
export const RESERVE = 1000;

export class SeqStore {
  private next_: number | undefined;
  /** What the file says: every number handed out is below it. */
  private bound = 0;
  private chain: Promise<unknown> = Promise.resolve();

  /**
   * @param last the highest number found in the agent's queue at start (a
   * sample stored, maybe sent), or undefined when it holds none.
   */
  constructor(
    private readonly file: string,
    private readonly fsync: boolean,
    private readonly last?: number,
  ) {}

  private async load(): Promise<number> {
    try {
      const n = Number((await fs.promises.readFile(this.file, 'utf8')).trim());
      return Number.isSafeInteger(n) && n >= 0 ? n : 0;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw err;
    }
  }

  /** Reserves and returns the next number; calls are served in order. */
  next(): Promise<number> {
    return this.serial(async () => {
      if (this.next_ === undefined) {
        this.bound = await this.load();
        this.next_ = this.last === undefined ? this.bound : this.last + 1;
      }
      const n = this.next_;
      if (n >= this.bound) {
        await writeFileAtomic(this.file, String(n + RESERVE), { fsync: this.fsync });
        this.bound = n + RESERVE;
      }
      this.next_ = n + 1;
      return n;
    });
  }

  /** Writes the exact next number, so that a restart without the queue skips none. */
  close(): Promise<void> {
    return this.serial(async () => {
      if (this.next_ === undefined || this.next_ === this.bound) return;
      await writeFileAtomic(this.file, String(this.next_), { fsync: this.fsync });
      this.bound = this.next_;
    });
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn);
    this.chain = run.catch(() => undefined);
    return run;
  }
}

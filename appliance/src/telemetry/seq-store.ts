import fs from 'node:fs';
import { writeFileAtomic } from '@diemcau/shared';

// The telemetry sequence number, kept across restarts. next() saves n+1
// before handing out n: a crash between the two can skip a number (a sample
// never taken, which the fleet may see as a gap) but never reuse one (two
// different samples with one number, which the fleet would silently dedupe).

export class SeqStore {
  private next_: number | undefined;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly file: string,
    private readonly fsync: boolean,
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
    const run = this.chain.then(async () => {
      const n = this.next_ ?? (await this.load());
      await writeFileAtomic(this.file, String(n + 1), { fsync: this.fsync });
      this.next_ = n + 1;
      return n;
    });
    this.chain = run.catch(() => undefined);
    return run;
  }
}

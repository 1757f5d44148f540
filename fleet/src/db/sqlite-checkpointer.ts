import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';

/**
 * Moves the WAL's checkpoints off the fleet's main thread. SQLite runs them
 * inside whichever COMMIT crosses the WAL's size (1,000 pages by default):
 * that commit copies the pages into the database file and fsyncs both, and
 * with better-sqlite3 it does so on the thread that serves every box. At
 * 10,000 boxes those commits took 22–51 ms on average in `bench:fleet`, a
 * sixth of the main thread's time during a reconnect storm.
 *
 * Here a worker thread with its own connection runs a PASSIVE checkpoint
 * every `everyMs`: it copies what no reader still needs and never waits for
 * (nor blocks) the writers. While it runs, the main connection checkpoints
 * by itself only past a high backstop (sqlite.ts); if it fails, as usual.
 */
/** How long stop() waits for the worker to close its connection before ending it. */
const STOP_WAIT_MS = 5000;

export class SqliteCheckpointer {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;
  private stopped = false;

  constructor(
    file: string,
    everyMs: number,
    private readonly log: Logger,
    /** Called once if the worker fails: the caller checkpoints by itself again. */
    onFailure: () => void,
  ) {
    // An eval'd worker runs as CommonJS from no file: it is handed the driver's resolved path.
    const module = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { module, file, everyMs } });
    this.worker.unref();
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
    let failed = false;
    const fail = (err: unknown): void => {
      if (failed || this.stopped) return;
      failed = true;
      this.log.warn({ err }, 'background checkpoints failed; the registry checkpoints in its own commits again');
      onFailure();
      void this.worker.terminate();
    };
    this.worker.on('message', (m: { error?: string }) => {
      if (m.error !== undefined) fail(new Error(m.error));
    });
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => {
      if (code !== 0) fail(new Error(`checkpoint worker exited with code ${code}`));
    });
  }

  /** Stops the worker; its connection is closed before this resolves. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    // Held by the worker again until it has closed its connection (unref'd, the process could end first).
    this.worker.ref();
    this.worker.postMessage('stop');
    // A checkpoint stuck on a busy file is not waited for long: the main connection checkpoints on close.
    const stuck = setTimeout(() => void this.worker.terminate(), STOP_WAIT_MS);
    await this.exited;
    clearTimeout(stuck);
  }
}

// A checkpoint that fails once (the file busy at that moment) is tried again
// at the next turn; three in a row are reported as a failure.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = 1000');
let failures = 0;
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
    failures = 0;
  } catch (err) {
    if (++failures >= 3) parentPort.postMessage({ error: String(err && err.message || err) });
  }
}, workerData.everyMs);
parentPort.on('message', (m) => {
  if (m !== 'stop') return;
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

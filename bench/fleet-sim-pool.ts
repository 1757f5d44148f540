// The simulator processes of `npm run bench:fleet`, owned by the bench: starts
// one fleet-sim-worker.ts per slice of the devices, keeps each one's latest
// progress, sends numbered crash commands and rejects the pending ones when a
// worker exits or the pool closes. A worker that exits before close() is an
// error the bench sees on its next look (failure()).
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { sliceBounds } from '@diemcau/appliance';

/** What a worker is told at start (its one argv argument, JSON). */
export interface WorkerSettings {
  fleetUrl: string;
  adminToken: string;
  devices: number;
  slice: { from: number; to: number };
  dataRoot: string;
  telemetryIntervalSec: number;
  keepaliveSec: number;
  concurrency: number;
  /** Broker to connect to instead of the one the fleet hands out (enrolled boxes only: the mosquitto reference run). */
  mqttUrl?: string;
}

export type ToWorker = { type: 'crash'; id: number; indexes: number[]; gapMs: number };

export interface WorkerProgress {
  /** Agents enrolled and started, out of `total` in this worker's slice. */
  started: number;
  total: number;
  /** Agents whose MQTT session is up, as the agents themselves see it. */
  connected: number;
  /** Connections beyond each agent's first: flaps and cut links. */
  reconnects: number;
  /** Event-loop delay over the last report interval: an overloaded simulator shows here first. */
  lagP99Ms: number;
  lagMaxMs: number;
}

export type FromWorker =
  | ({ type: 'progress' } & WorkerProgress)
  | { type: 'started'; at: number }
  | { type: 'crashed'; id: number; cuts: { index: number; deviceId: string; at: number }[] }
  | { type: 'failed'; message: string };

interface Worker {
  proc: ChildProcess;
  slice: { from: number; to: number };
  log: string;
  progress: WorkerProgress;
  startedAt?: number;
  failed?: string;
}

export class SimPool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<
    number,
    { resolve: (cuts: { deviceId: string; at: number }[]) => void; reject: (err: Error) => void }
  >();
  private nextId = 1;
  private closed = false;

  /** Forks `procs` workers, each running an equal slice of `settings.devices`; `concurrency` is split between them. */
  constructor(entry: string, cwd: string, procs: number, settings: Omit<WorkerSettings, 'slice'>, logDir: string) {
    for (let k = 0; k < procs; k++) {
      const slice = sliceBounds(settings.devices, k, procs);
      const log = path.join(logDir, `sim-${k}.log`);
      const out = fs.openSync(log, 'a');
      const own: WorkerSettings = {
        ...settings,
        slice,
        concurrency: Math.max(1, Math.ceil(settings.concurrency / procs)),
      };
      const proc = fork(entry, [JSON.stringify(own)], {
        cwd,
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', out, out, 'ipc'],
      });
      fs.closeSync(out);
      const w: Worker = {
        proc,
        slice,
        log,
        progress: { started: 0, total: slice.to - slice.from, connected: 0, reconnects: 0, lagP99Ms: 0, lagMaxMs: 0 },
      };
      proc.on('message', (m) => this.onMessage(w, m as FromWorker));
      proc.on('exit', (code, signal) => {
        if (this.closed) return;
        w.failed ??= `simulator ${k} (pid ${proc.pid}) exited (${signal ?? code}): ${tail(log)}`;
        this.rejectAll(new Error(w.failed));
      });
      this.workers.push(w);
    }
  }

  private onMessage(w: Worker, m: FromWorker): void {
    if (m.type === 'progress') w.progress = m;
    else if (m.type === 'started') w.startedAt = m.at;
    else if (m.type === 'failed') w.failed = m.message;
    else if (m.type === 'crashed') {
      this.pending.get(m.id)?.resolve(m.cuts);
      this.pending.delete(m.id);
    }
  }

  private rejectAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  get pids(): number[] {
    return this.workers.map((w) => w.proc.pid!).filter((p) => p !== undefined);
  }

  /** The first worker failure, if any (the bench stops on it). */
  failure(): string | undefined {
    return this.workers.find((w) => w.failed)?.failed;
  }

  /** Sums over the workers; lag is the worst worker's. */
  progress(): WorkerProgress & { perWorker: WorkerProgress[] } {
    const per = this.workers.map((w) => w.progress);
    const sum = (f: (p: WorkerProgress) => number): number => per.reduce((a, p) => a + f(p), 0);
    return {
      started: sum((p) => p.started),
      total: sum((p) => p.total),
      connected: sum((p) => p.connected),
      reconnects: sum((p) => p.reconnects),
      lagP99Ms: Math.max(0, ...per.map((p) => p.lagP99Ms)),
      lagMaxMs: Math.max(0, ...per.map((p) => p.lagMaxMs)),
      perWorker: per,
    };
  }

  /** When the last worker had every one of its agents enrolled and started; undefined until then. */
  allStartedAt(): number | undefined {
    if (this.workers.some((w) => w.startedAt === undefined)) return undefined;
    return Math.max(...this.workers.map((w) => w.startedAt!));
  }

  /**
   * Cuts the sockets (no DISCONNECT) of the devices with these global indexes,
   * each in the worker that runs it; `gapMs` apart overall. Returns deviceId →
   * time of the cut (Date.now() in the worker: the same clock as the fleet's).
   */
  async crash(indexes: number[], gapMs: number): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    await Promise.all(
      this.workers.map(async (w) => {
        const mine = indexes.filter((i) => i >= w.slice.from && i < w.slice.to);
        if (mine.length === 0) return;
        const id = this.nextId++;
        const cuts = await new Promise<{ deviceId: string; at: number }[]>((resolve, reject) => {
          this.pending.set(id, { resolve, reject });
          // The workers cut in parallel: each spaces its cuts so the total rate stays one per gapMs.
          const msg: ToWorker = { type: 'crash', id, indexes: mine, gapMs: gapMs * this.workers.length };
          w.proc.send(msg);
        });
        for (const c of cuts) out.set(c.deviceId, c.at);
      }),
    );
    return out;
  }

  /** Idempotent: kills every worker (their agents' sockets close; the fleet sees their wills). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.rejectAll(new Error('simulator pool closed'));
    for (const w of this.workers) {
      w.proc.kill('SIGCONT');
      w.proc.kill('SIGKILL');
    }
  }
}

function tail(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').slice(-2000);
  } catch {
    return '(no log)';
  }
}

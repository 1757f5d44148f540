// One mediasoup worker per core. A worker is one single-threaded process, so
// an edge with one worker uses one core however many meetings it carries; the
// pool runs several, each with its own slice of the edge's RTP ports (and so
// its own WebRtcServer port), and places each meeting on the least-loaded one.
// A meeting that outgrows its worker spans others (RoomRouter, SpanPolicy).
//
// Load measure: routers + transports + consumers on the worker, counted from
// mediasoup's observers. It is what a meeting costs the worker in packets
// forwarded, up to the stream rates, and unlike CPU it is known the moment a
// meeting opens (CPU of a meeting that just opened is zero).
//
// A worker that dies takes only the meetings with a router on it: 'died' names
// them, and a new worker replaces the dead one in the same port slice.
import os from 'node:os';
import type { types } from 'mediasoup';
import { DiemcauError } from '@diemcau/shared';
import { Backoff } from '../../backoff.js';
import { Events } from '@diemcau/shared';
import { MediaWorker, RoomRouter, type RouterPart, type WorkerOptions } from './engine.js';

export interface PoolOptions extends WorkerOptions {
  /** Workers to run; default one per core (os.availableParallelism()), as many as the port range allows. */
  workers?: number;
  /** Transports plus consumers on one router beyond which a meeting spans another worker. */
  spanAt?: number;
}

/** The fewest RTP ports a worker's slice may have (a WebRtcServer takes two, each meeting's links more). */
export const MIN_PORTS_PER_WORKER = 8;
export const DEFAULT_SPAN_AT = 1000;

export interface WorkerDeath {
  pid: number;
  /** The worker's slot in the pool (its port slice). */
  slot: number;
  error: DiemcauError;
  /** Meetings that had a router on the dead worker: they are broken and must be opened again. */
  meetingIds: string[];
}

/** Where the pool stands, for stats, tests and benchmarks. */
export interface WorkerPlacement {
  slot: number;
  pid: number | null;
  ports: types.TransportPortRange;
  load: number;
  meetingIds: string[];
}

/** What a meeting's room needs to make its router. */
export interface RouterSource {
  createRouter(): Promise<RoomRouter>;
}

interface Slot {
  index: number;
  ports: types.TransportPortRange;
  worker: MediaWorker | null;
  load: number;
  /** Meeting id -> routers it has on this worker. */
  meetings: Map<string, number>;
  backoff: Backoff;
  timer: NodeJS.Timeout | null;
}

export class MediaWorkers {
  readonly events = new Events<{ died: [WorkerDeath]; replaced: [{ slot: number; pid: number }]; replaceFailed: [{ slot: number; error: unknown }] }>();
  private closed = false;

  private constructor(private readonly slots: Slot[], private readonly opts: PoolOptions, readonly spanAt: number) {}

  static async start(opts: PoolOptions): Promise<MediaWorkers> {
    const total = opts.rtcMaxPort - opts.rtcMinPort + 1;
    // Unset, a many-core machine with a narrow port range runs fewer workers rather than failing.
    const count = opts.workers ?? Math.max(1, Math.min(os.availableParallelism(), Math.floor(total / MIN_PORTS_PER_WORKER)));
    if (!Number.isInteger(count) || count < 1) throw new DiemcauError('APPL_ERR_CONFIG', `workers must be a whole number of at least 1 (got ${count})`);
    const each = Math.floor(total / count);
    if (each < MIN_PORTS_PER_WORKER) {
      throw new DiemcauError('APPL_ERR_CONFIG', `${total} RTP ports cannot be shared by ${count} workers (at least ${MIN_PORTS_PER_WORKER} each)`);
    }
    const slots: Slot[] = Array.from({ length: count }, (_, index) => ({
      index,
      // Contiguous slices; the last one takes the remainder.
      ports: { min: opts.rtcMinPort + index * each, max: index === count - 1 ? opts.rtcMaxPort : opts.rtcMinPort + (index + 1) * each - 1 },
      worker: null, load: 0, meetings: new Map(), backoff: new Backoff(250, 10_000), timer: null,
    }));
    const pool = new MediaWorkers(slots, opts, opts.spanAt ?? DEFAULT_SPAN_AT);
    try {
      for (const slot of slots) await pool.startSlot(slot);
    } catch (err) {
      pool.close();
      throw err;
    }
    return pool;
  }

  get size(): number { return this.slots.length; }
  /** Live workers' pids, by slot. */
  get pids(): number[] { return this.slots.flatMap((s) => (s.worker && !s.worker.isClosed ? [s.worker.pid] : [])); }
  get alive(): number { return this.pids.length; }
  /** The first slot's worker (null while it is being replaced): the pid health reports. */
  get firstPid(): number | null {
    const w = this.slots[0]?.worker;
    return w && !w.isClosed ? w.pid : null;
  }

  placement(): WorkerPlacement[] {
    return this.slots.map((s) => ({
      slot: s.index, pid: s.worker && !s.worker.isClosed ? s.worker.pid : null, ports: { ...s.ports }, load: s.load, meetingIds: [...s.meetings.keys()].sort(),
    }));
  }

  /** CPU seconds per live worker. */
  async usage(): Promise<Array<{ slot: number; pid: number; cpuSeconds: number }>> {
    const live = this.slots.filter((s) => s.worker && !s.worker.isClosed);
    return Promise.all(live.map(async (s) => ({ slot: s.index, pid: s.worker!.pid, cpuSeconds: (await s.worker!.usage()).cpuSeconds })));
  }

  /** The router source for one meeting: its rooms call createRouter() as they would on one worker. */
  forMeeting(meetingId: string): RouterSource {
    return { createRouter: () => this.createRouter(meetingId) };
  }

  /** A meeting's router on the least-loaded worker, able to span the others. */
  async createRouter(meetingId: string): Promise<RoomRouter> {
    const slot = this.leastLoaded([]);
    if (!slot) throw new DiemcauError('APPL_ERR_MEDIA', 'no mediasoup worker is running');
    const part = await this.openOn(slot, meetingId);
    return new RoomRouter(part, {
      spanAt: this.spanAt,
      extend: async (usedPids) => {
        const other = this.leastLoaded(usedPids);
        return other ? this.openOn(other, meetingId) : null;
      },
    });
  }

  private leastLoaded(excludePids: number[]): Slot | null {
    let best: Slot | null = null;
    for (const s of this.slots) {
      if (!s.worker || s.worker.isClosed || excludePids.includes(s.worker.pid)) continue;
      // Ties go to the worker with fewer meetings, then to the lower slot.
      if (!best || s.load < best.load || (s.load === best.load && s.meetings.size < best.meetings.size)) best = s;
    }
    return best;
  }

  private async openOn(slot: Slot, meetingId: string): Promise<RouterPart> {
    const worker = slot.worker;
    if (!worker || worker.isClosed) throw new DiemcauError('APPL_ERR_MEDIA', 'the chosen mediasoup worker has stopped');
    const part = await worker.openRouter();
    slot.load++;
    slot.meetings.set(meetingId, (slot.meetings.get(meetingId) ?? 0) + 1);
    part.router.observer.on('newtransport', (tr: types.Transport) => {
      slot.load++;
      tr.observer.on('close', () => { slot.load--; });
      tr.observer.on('newconsumer', (c: types.Consumer) => {
        slot.load++;
        c.observer.on('close', () => { slot.load--; });
      });
    });
    part.router.observer.on('close', () => {
      // A dying worker closes its routers first: keep its meetings for the 'died' report.
      if (worker.died) return;
      slot.load--;
      const n = (slot.meetings.get(meetingId) ?? 1) - 1;
      if (n <= 0) slot.meetings.delete(meetingId);
      else slot.meetings.set(meetingId, n);
    });
    return part;
  }

  private async startSlot(slot: Slot): Promise<void> {
    const worker = await MediaWorker.start({ ...this.opts, rtcMinPort: slot.ports.min, rtcMaxPort: slot.ports.max });
    if (this.closed) return worker.close();
    slot.worker = worker;
    slot.load = 0;
    slot.meetings = new Map();
    worker.events.on('died', (error) => this.onDied(slot, worker, error));
  }

  private onDied(slot: Slot, worker: MediaWorker, error: DiemcauError): void {
    if (slot.worker !== worker) return;
    const meetingIds = [...slot.meetings.keys()].sort();
    slot.worker = null;
    slot.meetings = new Map();
    slot.load = 0;
    this.events.emit('died', { pid: worker.pid, slot: slot.index, error, meetingIds });
    this.scheduleReplace(slot);
  }

  private scheduleReplace(slot: Slot): void {
    if (this.closed || slot.timer) return;
    slot.timer = setTimeout(() => {
      slot.timer = null;
      this.startSlot(slot)
        .then(() => {
          if (!slot.worker) return;
          slot.backoff.reset();
          this.events.emit('replaced', { slot: slot.index, pid: slot.worker.pid });
        })
        .catch((error: unknown) => {
          this.events.emit('replaceFailed', { slot: slot.index, error });
          this.scheduleReplace(slot);
        });
    }, slot.backoff.next());
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.slots) {
      if (s.timer) clearTimeout(s.timer);
      s.worker?.close();
    }
  }
}

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
//
// Several edges may share one pool (tenants: a test or a benchmark packing
// many sites' edges into one process). Each tenant's meetings are its own,
// its transports use its own port range, and 'died' says whose they were.
import type { types } from 'mediasoup';
import { DiemcauError } from '@diemcau/shared';
import { Backoff } from '../../backoff.js';
import { Events } from '@diemcau/shared';
import { MediaWorker, RoomRouter, type RouterPart, type WorkerOptions } from './engine.js';
import { MIN_PORTS_PER_WORKER, workerSlices } from './slices.js';

export { MIN_PORTS_PER_WORKER };

export interface PoolOptions extends WorkerOptions {
  /** Workers to run; default one per core (os.availableParallelism()), as many as the port range allows. */
  workers?: number;
  /** Transports plus consumers on one router beyond which a meeting spans another worker. */
  spanAt?: number;
  /** With workers unset, no more workers than the range has this many ports each for (config.ts portsPerWorker). */
  minPortsPerWorker?: number;
}

export const DEFAULT_SPAN_AT = 1000;

export interface WorkerDeath {
  pid: number;
  /** The worker's slot in the pool (its port slice). */
  slot: number;
  error: DiemcauError;
  /** Meetings that had a router on the dead worker: they are broken and must be opened again. */
  meetingIds: string[];
  /** The same, with the tenant each belongs to ('' for the pool's own edge). */
  meetings: TenantMeeting[];
}

export interface TenantMeeting {
  tenant: string;
  meetingId: string;
}

/** An edge sharing the pool: its name, and the ports its transports take (the worker's slice when unset). */
export interface Tenant {
  id: string;
  ports?: types.TransportPortRange;
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
  /** Tenant and meeting -> routers it has on this worker. */
  meetings: Map<string, { who: TenantMeeting; routers: number }>;
  backoff: Backoff;
  timer: NodeJS.Timeout | null;
}

export class MediaWorkers {
  readonly events = new Events<{
    died: [WorkerDeath];
    replaced: [{ slot: number; pid: number }];
    replaceFailed: [{ slot: number; error: unknown }];
  }>();
  private closed = false;

  private constructor(
    private readonly slots: Slot[],
    private readonly opts: PoolOptions,
    readonly spanAt: number,
  ) {}

  static async start(opts: PoolOptions): Promise<MediaWorkers> {
    const total = opts.rtcMaxPort - opts.rtcMinPort + 1;
    if (opts.workers !== undefined && (!Number.isInteger(opts.workers) || opts.workers < 1)) {
      throw new DiemcauError('APPL_ERR_CONFIG', `workers must be a whole number of at least 1 (got ${opts.workers})`);
    }
    // Unset, a many-core machine with a narrow port range runs fewer workers rather than failing.
    const { count, slices, smallest } = workerSlices(
      opts.rtcMinPort,
      opts.rtcMaxPort,
      opts.workers,
      opts.minPortsPerWorker,
    );
    if (smallest < MIN_PORTS_PER_WORKER) {
      throw new DiemcauError(
        'APPL_ERR_CONFIG',
        `${total} RTP ports cannot be shared by ${count} workers (at least ${MIN_PORTS_PER_WORKER} each)`,
      );
    }
    const slots: Slot[] = slices.map((ports, index) => ({
      index,
      ports,
      worker: null,
      load: 0,
      meetings: new Map(),
      backoff: new Backoff(250, 10_000),
      timer: null,
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

  get size(): number {
    return this.slots.length;
  }
  /** Live workers' pids, by slot. */
  get pids(): number[] {
    return this.slots.flatMap((s) => (s.worker && !s.worker.isClosed ? [s.worker.pid] : []));
  }
  get alive(): number {
    return this.pids.length;
  }
  /** The first slot's worker (null while it is being replaced): the pid health reports. */
  get firstPid(): number | null {
    const w = this.slots[0]?.worker;
    return w && !w.isClosed ? w.pid : null;
  }

  placement(): WorkerPlacement[] {
    return this.slots.map((s) => ({
      slot: s.index,
      pid: s.worker && !s.worker.isClosed ? s.worker.pid : null,
      ports: { ...s.ports },
      load: s.load,
      meetingIds: [...s.meetings.values()]
        .map((m) => (m.who.tenant ? `${m.who.tenant}/${m.who.meetingId}` : m.who.meetingId))
        .sort(),
    }));
  }

  /** CPU seconds per live worker. */
  async usage(): Promise<Array<{ slot: number; pid: number; cpuSeconds: number }>> {
    const live = this.slots.filter((s) => s.worker && !s.worker.isClosed);
    return Promise.all(
      live.map(async (s) => ({ slot: s.index, pid: s.worker!.pid, cpuSeconds: (await s.worker!.usage()).cpuSeconds })),
    );
  }

  /** The router source for one meeting: its rooms call createRouter() as they would on one worker. */
  forMeeting(meetingId: string, tenant?: Tenant): RouterSource {
    return { createRouter: () => this.createRouter(meetingId, tenant) };
  }

  /** A meeting's router on the least-loaded worker, able to span the others. */
  async createRouter(meetingId: string, tenant?: Tenant): Promise<RoomRouter> {
    const slot = this.leastLoaded([]);
    if (!slot) throw new DiemcauError('APPL_ERR_MEDIA', 'no mediasoup worker is running');
    const who = { tenant: tenant?.id ?? '', meetingId };
    const part = await this.openOn(slot, who, tenant?.ports);
    return new RoomRouter(part, {
      spanAt: this.spanAt,
      extend: async (usedPids) => {
        const other = this.leastLoaded(usedPids);
        return other ? this.openOn(other, who, tenant?.ports) : null;
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

  private async openOn(slot: Slot, who: TenantMeeting, ports?: types.TransportPortRange): Promise<RouterPart> {
    const worker = slot.worker;
    if (!worker || worker.isClosed) throw new DiemcauError('APPL_ERR_MEDIA', 'the chosen mediasoup worker has stopped');
    const opened = await worker.openRouter();
    // A tenant's transports take its own ports; its browsers share the worker's WebRtcServer.
    const part = ports ? { ...opened, ctx: { ...opened.ctx, portRange: { ...ports } } } : opened;
    const key = `${who.tenant}\n${who.meetingId}`;
    slot.load++;
    const entry = slot.meetings.get(key) ?? { who, routers: 0 };
    entry.routers++;
    slot.meetings.set(key, entry);
    part.router.observer.on('newtransport', (tr: types.Transport) => {
      slot.load++;
      tr.observer.on('close', () => {
        slot.load--;
      });
      tr.observer.on('newconsumer', (c: types.Consumer) => {
        slot.load++;
        c.observer.on('close', () => {
          slot.load--;
        });
      });
    });
    part.router.observer.on('close', () => {
      // A dying worker closes its routers first: keep its meetings for the 'died' report.
      if (worker.died) return;
      slot.load--;
      const e = slot.meetings.get(key);
      if (e && --e.routers <= 0) slot.meetings.delete(key);
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
    const meetings = [...slot.meetings.values()].map((m) => m.who);
    const meetingIds = [...new Set(meetings.map((m) => m.meetingId))].sort();
    slot.worker = null;
    slot.meetings = new Map();
    slot.load = 0;
    this.events.emit('died', { pid: worker.pid, slot: slot.index, error, meetingIds, meetings });
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

// The media edge: mediasoup workers (one per core by default, adapter/pool.ts),
// one room per live meeting, reconciled towards the newest media plan. The same
// class runs on a site's box (role 'site', with its camera and microphone) and
// on the province's server (role 'core', usually without). If a worker dies,
// the rooms with a router on it go with it and open again from the plan on the
// workers left; a new worker takes the dead one's place.
// An edge may instead share a pool with other edges of the same process (a
// test or a benchmark packing many sites): it then neither starts nor closes
// the workers, and its transports take its own port range on them.
import type { Logger } from 'pino';
import type { MediaMeeting, MediaPlan, MediaStats } from '@diemcau/shared';
import {
  MediaWorkers,
  type ListenOptions,
  type PoolOptions,
  type Tenant,
  type WorkerDeath,
  type WorkerPlacement,
} from './adapter/index.js';
import type { CaptureConfig } from './ffmpeg/args.js';
import { acceptPlan, planRooms, type PlanVerdict } from './room-planner.js';
import { MeetingRoom } from './room.js';
import type { BlockList } from 'node:net';
import { parseCidrList, type Lookup } from './addresses.js';
import { PeerBudget, Refusals, type PeerLimits } from './limits.js';

const ENDED_KEPT = 256;

export interface EdgeOptions {
  edgeId: string;
  role: 'site' | 'core';
  listen: ListenOptions;
  capture: CaptureConfig | null;
  ffmpegBin: string;
  /** Ports, log level, workers (default one per core) and when a meeting spans workers; or a pool shared with other edges. */
  worker: PoolOptions | SharedWorkers;
  log: Logger;
  limits: PeerLimits;
  /** Where taps may send: addresses or CIDRs, comma-separated (config tapAllow). */
  tapAllow: string;
  /** CA for upstream edges' https signalling. */
  trustedCa?: string;
  /** Host name resolution for the plan's downstream addresses (tests give their own). */
  lookup?: Lookup;
  /** How long a microphone counts as heard after a level report heard it (speaker-gate.ts HEARD_HOLD_MS; tests lengthen it). */
  speakerHoldMs?: number;
}

/** Workers owned elsewhere; this edge's transports take `ports` on them (the workers' own slices when unset). */
export interface SharedWorkers {
  shared: MediaWorkers;
  ports?: { min: number; max: number };
}

export class Edge {
  private workers: MediaWorkers | null = null;
  private tenant: Tenant | undefined;
  private readonly unlisten: Array<() => void> = [];
  private readonly rooms = new Map<string, MeetingRoom>();
  /** Meetings the plan closed here, the most recent ENDED_KEPT, so a refusal can say "ended". */
  private readonly ended = new Set<string>();
  private plan: MediaPlan | null = null;
  // Plans apply one at a time, in arrival order.
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Counted rejections, by reason, for the stats endpoint and logs. */
  readonly rejectedPlans = new Map<string, number>();
  /** Refused link offers, taps and peer requests, and reaped peers, by reason. */
  readonly refusals: Refusals;
  /** Browser peers across every room, per token and in total. */
  readonly budget: PeerBudget;
  private readonly tapAllow: BlockList;

  private constructor(readonly opts: EdgeOptions) {
    this.refusals = new Refusals(opts.log.child({ module: 'limits' }));
    this.budget = new PeerBudget(opts.limits, this.refusals);
    this.tapAllow = parseCidrList(opts.tapAllow).list;
  }

  static async start(opts: EdgeOptions): Promise<Edge> {
    const edge = new Edge(opts);
    await edge.startWorker();
    return edge;
  }

  get edgeId(): string {
    return this.opts.edgeId;
  }
  get revision(): number | null {
    return this.plan?.revision ?? null;
  }
  /** The plan in force (the kiosk page shows its live meeting). */
  get currentPlan(): MediaPlan | null {
    return this.plan;
  }
  /** The first worker's pid (health, logs; null while it is replaced); workerPids lists them all. */
  get workerPid(): number | null {
    return this.workers?.firstPid ?? null;
  }
  get workerPids(): number[] {
    return this.workers?.pids ?? [];
  }
  /** Each worker's ports, load and meetings. */
  get workerPlacement(): WorkerPlacement[] {
    return this.workers?.placement() ?? [];
  }
  room(meetingId: string): MeetingRoom | undefined {
    return this.rooms.get(meetingId);
  }
  /** Whether a meeting was open here and the plan has since closed it (a join link replayed after it ended). */
  hasEnded(meetingId: string): boolean {
    return this.ended.has(meetingId);
  }

  private get owned(): boolean {
    return !('shared' in this.opts.worker);
  }

  private async startWorker(): Promise<void> {
    const w = this.opts.worker;
    let workers: MediaWorkers;
    if ('shared' in w) {
      workers = w.shared;
      this.tenant = { id: this.edgeId, ...(w.ports ? { ports: w.ports } : {}) };
    } else {
      workers = await MediaWorkers.start(w);
    }
    this.workers = workers;
    this.unlisten.push(
      workers.events.on('died', (d) => this.onWorkerDied(d)),
      workers.events.on('replaced', ({ slot, pid }) => {
        this.opts.log.info({ slot, pid }, 'mediasoup worker replaced');
        if (this.plan) void this.enqueue(() => this.reconcile());
      }),
      workers.events.on('replaceFailed', ({ slot, error }) =>
        this.opts.log.error({ err: error, slot }, 'worker restart failed'),
      ),
    );
    this.opts.log.info(
      { pids: workers.pids, spanAt: workers.spanAt, shared: !this.owned },
      'mediasoup workers started',
    );
  }

  // Only the meetings with a router on the dead worker close; they open again
  // from the plan on the workers left (or on the replacement, when none is).
  private onWorkerDied(d: WorkerDeath): void {
    const mine = d.meetings.filter((m) => m.tenant === (this.tenant?.id ?? '')).map((m) => m.meetingId);
    this.opts.log.error(
      { err: d.error, pid: d.pid, slot: d.slot, meetingIds: mine },
      'mediasoup worker died; restarting',
    );
    const rooms = mine.flatMap((id) => {
      const room = this.rooms.get(id);
      this.rooms.delete(id);
      return room ? [room] : [];
    });
    void this.enqueue(async () => {
      await Promise.all(rooms.map((r) => r.close()));
      await this.reconcile();
    });
  }

  /** Takes a new plan (already schema-checked). Resolves once the rooms follow it. */
  applyPlan(plan: MediaPlan): Promise<PlanVerdict> {
    return this.enqueue(async () => {
      const verdict = acceptPlan(this.edgeId, this.revision, plan);
      if (!verdict.ok) {
        this.rejectedPlans.set(verdict.reason, (this.rejectedPlans.get(verdict.reason) ?? 0) + 1);
        this.opts.log.warn({ reason: verdict.reason, revision: plan.revision }, 'media plan rejected');
        return verdict;
      }
      this.plan = plan;
      await this.reconcile();
      return verdict;
    });
  }

  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn);
    this.chain = next.catch(() => {});
    return next;
  }

  private async reconcile(): Promise<void> {
    if (!this.plan || this.closed) return;
    const workers = this.workers;
    if (!workers || workers.alive === 0) return; // the replacement reconciles again
    const open = new Map<string, MediaMeeting>([...this.rooms].map(([id, r]) => [id, r.meeting]));
    for (const step of planRooms(open, this.plan)) {
      switch (step.action) {
        case 'close': {
          const room = this.rooms.get(step.meetingId);
          this.rooms.delete(step.meetingId);
          this.ended.add(step.meetingId);
          if (this.ended.size > ENDED_KEPT) this.ended.delete(this.ended.values().next().value!);
          await room?.close();
          break;
        }
        case 'open':
          this.ended.delete(step.meeting.meetingId);
          try {
            this.rooms.set(
              step.meeting.meetingId,
              await MeetingRoom.open(step.meeting, {
                ...this.opts,
                worker: workers.forMeeting(step.meeting.meetingId, this.tenant),
                log: this.opts.log,
                refusals: this.refusals,
                budget: this.budget,
                tapAllow: this.tapAllow,
              }),
            );
          } catch (err) {
            // One meeting failing to open must not stop the others.
            this.opts.log.error({ err, meetingId: step.meeting.meetingId }, 'cannot open room');
          }
          break;
        case 'update':
          await this.rooms.get(step.meeting.meetingId)?.update(step.meeting);
          break;
      }
    }
  }

  async stats(): Promise<MediaStats> {
    const meetings = await Promise.all([...this.rooms.values()].map((r) => r.stats()));
    return { v: 1, edgeId: this.edgeId, at: new Date().toISOString(), revision: this.revision ?? 0, meetings };
  }

  /** The worker's view of every room, for leak checks and debugging. */
  async dump(): Promise<{
    workerPid: number | null;
    workerPids: number[];
    rooms: Array<{
      meetingId: string;
      workerPids: number[];
      transportIds: string[];
      producerIds: string[];
      consumerIds: string[];
    }>;
  }> {
    const rooms = await Promise.all(
      [...this.rooms.values()].map(async (r) => ({
        meetingId: r.id,
        workerPids: r.router.workerPids,
        ...(await r.router.dump()),
      })),
    );
    return { workerPid: this.workerPid, workerPids: this.workerPids, rooms };
  }

  async workerCpuSeconds(): Promise<number> {
    // Every worker's together: one meeting may span several.
    return ((await this.workers?.usage()) ?? []).reduce((sum, u) => sum + u.cpuSeconds, 0);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.chain;
    await Promise.all([...this.rooms.values()].map((r) => r.close()));
    this.rooms.clear();
    for (const off of this.unlisten) off();
    if (this.owned) this.workers?.close();
    this.opts.log.info('edge closed');
  }
}

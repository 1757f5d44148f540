// The media edge: one mediasoup worker, one room per live meeting, reconciled
// towards the newest media plan. The same class runs on a site's box (role
// 'site', with its camera and microphone) and on the province's server (role
// 'core', usually without). If the worker dies, every room goes with it; the
// edge starts a new worker and opens the rooms again from the plan.
import type { Logger } from 'pino';
import type { DiemcauError, MediaMeeting, MediaPlan, MediaStats } from '@diemcau/shared';
import { MediaWorker, type ListenOptions, type WorkerOptions } from './adapter/index.js';
import { Backoff } from './backoff.js';
import type { CaptureConfig } from './ffmpeg/args.js';
import { acceptPlan, planRooms, type PlanVerdict } from './plan.js';
import { MeetingRoom } from './room.js';
import type { BlockList } from 'node:net';
import { parseCidrList, type Lookup } from './addresses.js';
import { PeerBudget, Refusals, type PeerLimits } from './limits.js';

export interface EdgeOptions {
  edgeId: string;
  role: 'site' | 'core';
  listen: ListenOptions;
  capture: CaptureConfig | null;
  ffmpegBin: string;
  worker: WorkerOptions;
  log: Logger;
  limits: PeerLimits;
  /** Where taps may send: addresses or CIDRs, comma-separated (config tapAllow). */
  tapAllow: string;
  /** CA for upstream edges' https signalling. */
  trustedCa?: string;
  /** Host name resolution for the plan's downstream addresses (tests give their own). */
  lookup?: Lookup;
}

export class Edge {
  private worker: MediaWorker | null = null;
  private readonly rooms = new Map<string, MeetingRoom>();
  private plan: MediaPlan | null = null;
  // Plans apply one at a time, in arrival order.
  private chain: Promise<unknown> = Promise.resolve();
  private readonly restartBackoff = new Backoff(250, 10_000);
  private restartTimer: NodeJS.Timeout | null = null;
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

  get edgeId(): string { return this.opts.edgeId; }
  get revision(): number | null { return this.plan?.revision ?? null; }
  /** The plan in force (the kiosk page shows its live meeting). */
  get currentPlan(): MediaPlan | null { return this.plan; }
  get workerPid(): number | null { return this.worker?.pid ?? null; }
  room(meetingId: string): MeetingRoom | undefined { return this.rooms.get(meetingId); }

  private async startWorker(): Promise<void> {
    const worker = await MediaWorker.start(this.opts.worker);
    this.worker = worker;
    worker.events.on('died', (err) => this.onWorkerDied(err));
    this.opts.log.info({ pid: worker.pid }, 'mediasoup worker started');
  }

  private onWorkerDied(err: DiemcauError): void {
    this.opts.log.error({ err }, 'mediasoup worker died; restarting');
    this.worker = null;
    const rooms = [...this.rooms.values()];
    this.rooms.clear();
    void Promise.all(rooms.map((r) => r.close())).then(() => this.scheduleRestart());
  }

  private scheduleRestart(): void {
    if (this.closed || this.restartTimer) return;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      this.startWorker()
        .then(() => {
          this.restartBackoff.reset();
          if (this.plan) return this.enqueue(() => this.reconcile());
          return undefined;
        })
        .catch((e: unknown) => {
          this.opts.log.error({ err: e }, 'worker restart failed');
          this.scheduleRestart();
        });
    }, this.restartBackoff.next());
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
    const worker = this.worker;
    if (!worker || worker.isClosed) return; // the restart reconciles again
    const open = new Map<string, MediaMeeting>([...this.rooms].map(([id, r]) => [id, r.meeting]));
    for (const step of planRooms(open, this.plan)) {
      switch (step.action) {
        case 'close': {
          const room = this.rooms.get(step.meetingId);
          this.rooms.delete(step.meetingId);
          await room?.close();
          break;
        }
        case 'open':
          try {
            this.rooms.set(step.meeting.meetingId, await MeetingRoom.open(step.meeting, {
              ...this.opts, worker, log: this.opts.log, refusals: this.refusals, budget: this.budget, tapAllow: this.tapAllow,
            }));
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
  async dump(): Promise<{ workerPid: number | null; rooms: Array<{ meetingId: string; transportIds: string[]; producerIds: string[]; consumerIds: string[] }> }> {
    const rooms = await Promise.all([...this.rooms.values()].map(async (r) => ({ meetingId: r.id, ...(await r.router.dump()) })));
    return { workerPid: this.workerPid, rooms };
  }

  async workerCpuSeconds(): Promise<number> {
    return this.worker ? (await this.worker.usage()).cpuSeconds : 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    await this.chain;
    await Promise.all([...this.rooms.values()].map((r) => r.close()));
    this.rooms.clear();
    this.worker?.close();
    this.opts.log.info('edge closed');
  }
}


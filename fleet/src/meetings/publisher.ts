// Publishes each edge's media plan, retained, when it changes. The desired
// bodies come from the planner; this file keeps revisions growing (across
// restarts, via the repository), skips unchanged bodies, clears edges that
// left every meeting with an empty plan, and runs one pass at a time so two
// API calls never hand out the same revision.
import type { Logger } from 'pino';
import { deviceTopic, mediaPlanCodec, type MediaPlan } from '@diemcau/shared';
import type { MediaPlanBody } from './media-planner.js';
import type { MeetingsRepo, PublishedPlan } from './repository.js';

/** Publishes retained with QoS 1; resolves once the broker has it. */
export type RetainedPublish = (topic: string, payload: string) => Promise<void>;

/** Also receives every plan published (the core's plan file). Must not throw. */
export type PlanSink = (plan: MediaPlan) => void;

export interface PublishCounters {
  published: number;
  failed: number;
}

export class PlanPublisher {
  private readonly last: Map<string, PublishedPlan>;
  /** Recorded plans this process has not sent yet (the broker may have lost them). */
  private readonly unsent: Set<string>;
  private chain: Promise<unknown> = Promise.resolve();
  readonly counters: PublishCounters = { published: 0, failed: 0 };

  private constructor(
    private readonly repo: MeetingsRepo,
    private readonly publish: RetainedPublish,
    private readonly log: Logger,
    private readonly now: () => number,
    private readonly sink: PlanSink,
    stored: readonly PublishedPlan[],
  ) {
    this.last = new Map(stored.map((p) => [p.edgeId, p]));
    this.unsent = new Set(this.last.keys());
  }

  /** Starts from the plans recorded as published (revisions keep growing across restarts). */
  static async open(
    repo: MeetingsRepo,
    publish: RetainedPublish,
    log: Logger,
    now: () => number,
    sink: PlanSink = () => {},
  ): Promise<PlanPublisher> {
    return new PlanPublisher(repo, publish, log, now, sink, await repo.publishedPlans());
  }

  /** Brings every edge's retained plan in line with `desired`; returns the edges published. */
  sync(desired: ReadonlyMap<string, MediaPlanBody>): Promise<string[]> {
    const run = this.chain.then(() => this.pass(desired));
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** The newest plan sent to an edge, as the edge sees it. */
  current(edgeId: string): MediaPlan | null {
    const p = this.last.get(edgeId);
    return p ? { ...(JSON.parse(p.body) as MediaPlanBody), revision: p.revision } : null;
  }

  /** Waits for the pass in flight, if any. */
  async idle(): Promise<void> {
    await this.chain;
  }

  private async pass(desired: ReadonlyMap<string, MediaPlanBody>): Promise<string[]> {
    const edges = new Set([...desired.keys(), ...this.last.keys()]);
    const done: string[] = [];
    for (const edgeId of [...edges].sort()) {
      const body: MediaPlanBody = desired.get(edgeId) ?? { v: 1, edgeId, meetings: [] };
      const text = JSON.stringify(body);
      const prev = this.last.get(edgeId);
      const same = prev?.body === text;
      if (same && !this.unsent.has(edgeId)) continue;
      const message: MediaPlan = {
        v: 1,
        revision: (prev?.revision ?? 0) + (same ? 0 : 1),
        edgeId,
        meetings: body.meetings,
        ...(body.joinKey ? { joinKey: body.joinKey } : {}),
      };
      const checked = mediaPlanCodec.check(message);
      if (!checked.ok) {
        // A bug on our side, not the edge's: keep the old plan and say why.
        this.counters.failed += 1;
        this.log.error({ edgeId, err: checked.error }, 'media plan does not match the schema; not published');
        continue;
      }
      try {
        await this.publish(deviceTopic(edgeId, 'media'), mediaPlanCodec.encode(message));
      } catch (err) {
        // Left unrecorded, so the next pass tries again.
        this.counters.failed += 1;
        this.log.warn({ edgeId, err }, 'media plan publish failed');
        continue;
      }
      this.unsent.delete(edgeId);
      const record = { edgeId, revision: message.revision, body: text };
      await this.repo.savePublished(record, this.now());
      this.last.set(edgeId, record);
      this.counters.published += 1;
      this.sink(message);
      done.push(edgeId);
      this.log.info({ edgeId, revision: message.revision, meetings: body.meetings.length }, 'media plan published');
    }
    return done;
  }
}

// Composition of the meetings area: tables, planner service, retained plan
// publisher, stats ingest, the reconcile timer and the HTTP routes.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import {
  deviceEventCodec,
  mediaPlanCodec,
  mediaStatsCodec,
  writeFileAtomicSync,
  type MediaStats,
} from '@diemcau/shared';
import type { IngestRouter } from '../broker/ingest.js';
import type { FleetDb } from '../db/database.js';
import { isNotLeader, UNFENCED, type Fence } from '../cluster/leadership.js';
import { meetingsConfig, type MeetingsConfig } from './config.js';
import { PlanPublisher, type PlanSink, type RetainedPublish } from './publisher.js';
import { MeetingsRepo } from './repository.js';
import { SpeakRequests } from './requests.js';
import { SpeakRequestsRepo } from './requests-repo.js';
import { JoinLinksRepo } from './join-links-repo.js';
import { meetingRoutes } from './routes.js';
import { MeetingService, type MeetingOperator, type MeetingPorts } from './service.js';
import { LiveStats } from './stats.js';

export { planCascade, type CascadePlan, type EdgeDirectory, type MeetingSpec } from './cascade.js';
export { busyMeetingForSite, checkSchedule, type CapacityConfig } from './schedule.js';
export { mediaPlans, linkTokens } from './media-planner.js';
export { meetingsConfig, type MeetingsConfig } from './config.js';
export type { MeetingService, MeetingOperator, MeetingPorts } from './service.js';
export type { MeetingRecord } from './model.js';

export interface MeetingsOptions {
  db: FleetDb;
  /** The broker's fleet-side publish, bound: `(t, p) => broker.publish(t, p, { qos: 1, retain: true })`. */
  publish: RetainedPublish;
  ingest: IngestRouter;
  ports: MeetingPorts;
  log: Logger;
  config?: Partial<MeetingsConfig>;
  now?: () => number;
  /** Off in tests that drive sync() themselves. */
  timer?: boolean;
  /** In a cluster, only the leader's clock publishes plans (API changes publish on the node that made them). */
  isLeader?: () => boolean;
  /**
   * The leader's fence around each pass of the clock (cluster/leadership.ts):
   * with PostgreSQL the pass runs in a transaction that holds the lease row,
   * so a leader that stalled and woke after a takeover publishes nothing.
   */
  fence?: Fence;
  /** Something the dashboards show changed outside a request (a room asked to speak). */
  onChange?: () => void;
}

export interface Meetings {
  readonly service: MeetingService;
  readonly stats: LiveStats;
  readonly requests: SpeakRequests;
  readonly publisher: PlanPublisher;
  readonly config: MeetingsConfig;
  /** Registers /api/v1/meetings on a fastify instance. */
  routes(app: FastifyInstance, operatorOf: (req: FastifyRequest) => MeetingOperator): Promise<void>;
  /** Publishes the plans once at start (retained plans may predate a restart). */
  start(): Promise<void>;
  close(): Promise<void>;
}

/** Writes the core's plans to a file, atomically (a rename), so its watcher never reads half a plan. */
function corePlanWriter(file: string, coreEdgeId: string, log: Logger): PlanSink {
  return (plan) => {
    if (plan.edgeId !== coreEdgeId) return;
    try {
      mkdirSync(dirname(file), { recursive: true });
      writeFileAtomicSync(file, mediaPlanCodec.encode(plan), { mode: 0o644 });
    } catch (err) {
      log.error({ err, file }, 'cannot write the core plan file');
    }
  };
}

export async function createMeetings(opts: MeetingsOptions): Promise<Meetings> {
  const config = meetingsConfig(opts.config);
  const now = opts.now ?? Date.now;
  const log = opts.log.child({ module: 'meetings' });
  const repo = await MeetingsRepo.open(opts.db);
  const corePlan = config.corePlanFile ? corePlanWriter(config.corePlanFile, config.coreEdgeId, log) : undefined;
  const publisher = await PlanPublisher.open(repo, opts.publish, log, now, corePlan);
  // A new or changed meeting may bring the next transition closer: every
  // pass re-aims the timer.
  const service = await MeetingService.open(
    config,
    repo,
    new JoinLinksRepo(opts.db),
    publisher,
    opts.ports,
    log,
    now,
    () => schedule(),
  );
  const stats = new LiveStats(log, now, config.statsStaleMs);
  const requests = new SpeakRequests(new SpeakRequestsRepo(opts.db), log, now);
  service.onSync(() => {
    requests
      .forgetEnded()
      .catch((err: unknown) => log.warn({ err }, 'cannot forget the requests to speak of ended meetings'));
  });

  const unsubscribe = [
    opts.ingest.on('media-stats', mediaStatsCodec, (deviceId, report) => {
      if (!stats.record(deviceId, report)) return;
      // Browser participants asking to speak, as their edge reports them.
      const asking = report.meetings.filter((m) => (m.speakRequests?.length ?? 0) > 0);
      if (asking.length === 0) return;
      browserRequests(deviceId, asking).catch((err: unknown) =>
        log.warn({ err, deviceId }, 'browser requests to speak not taken'),
      );
    }),
    // The help button during a live meeting is the room asking to speak (the
    // health area still opens its call-back alert for the same press).
    opts.ingest.on('events', deviceEventCodec, (deviceId, ev) => {
      if (ev.kind !== 'help-requested') return;
      const ask = async (): Promise<void> => {
        const siteId = (await opts.ports.devices()).find((d) => d.id === deviceId)?.siteId;
        if (siteId === undefined) return;
        const meeting = await service.busyMeeting(siteId);
        if (await requests.ask(meeting?.id ?? null, { siteId, at: ev.at, source: ev.source })) opts.onChange?.();
      };
      ask().catch((err: unknown) => log.warn({ err, deviceId }, 'request to speak not taken'));
    }),
    opts.ingest.on('presence', (deviceId, p) => {
      if (p.state === 'online' && p.mediaUrl)
        return void service
          .setMediaUrl(deviceId, p.mediaUrl)
          .catch((err: unknown) => log.warn({ err, deviceId }, 'media url update failed'));
    }),
  ];

  // An edge speaks only for its own box's site, and only in the live meeting that site is in.
  async function browserRequests(deviceId: string, asking: MediaStats['meetings']): Promise<void> {
    const siteId = (await opts.ports.devices()).find((d) => d.id === deviceId)?.siteId;
    if (siteId === undefined) return;
    const meeting = await service.busyMeeting(siteId);
    let changed = false;
    for (const m of asking) {
      if (m.meetingId !== meeting?.id || m.localSiteId !== siteId) {
        log.warn({ deviceId, meetingId: m.meetingId, claimed: m.localSiteId }, 'browser request to speak refused');
        continue;
      }
      // The participant's id names its site (`<site>.web<n>`): one from another site is refused.
      for (const r of m.speakRequests ?? []) {
        if (!r.participantId.startsWith(`${siteId}.`)) continue;
        changed =
          (await requests.ask(meeting.id, { siteId, at: r.at, source: 'browser', participantId: r.participantId })) ||
          changed;
      }
    }
    if (changed) opts.onChange?.();
  }

  // Plans change by the clock too (a meeting starts, ends, enters the lead
  // window): wake at the next such moment, and at least every interval to
  // pick up new devices and addresses.
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  function schedule(): void {
    if (closed || opts.timer === false) return;
    void service
      .nextTransition()
      .catch((err: unknown) => {
        log.error({ err }, 'cannot read the next meeting transition; trying again at the interval');
        return null;
      })
      .then((next) => {
        if (closed) return;
        if (timer) clearTimeout(timer);
        const wait = Math.min(config.reconcileIntervalMs, next === null ? Infinity : Math.max(0, next - now()) + 5);
        timer = setTimeout(tick, wait);
        timer.unref();
      });
  }
  const fence = opts.fence ?? UNFENCED;
  const tick = () => {
    if (opts.isLeader?.() === false) return schedule();
    // sync() re-aims the timer itself, also when it fails; a refused fence never ran it.
    fence(() => service.sync()).catch((err: unknown) => {
      if (!isNotLeader(err)) return log.error({ err }, 'meeting plan sync failed');
      log.info('meeting clock: this node no longer leads; nothing published');
      schedule();
    });
  };

  return {
    service,
    stats,
    requests,
    publisher,
    config,
    routes: (app, operatorOf) =>
      meetingRoutes(app, { service, stats, requests, coreEdgeId: config.coreEdgeId, operatorOf, now }),
    async start() {
      if (!config.coreSignalUrl) {
        log.warn(
          'DIEMCAU_CORE_SIGNAL_URL is not set: edges that link to the core wait until the core announces an address',
        );
      }
      // The file may be gone (new server, cleaned tmp): write what the core should run now.
      corePlan?.(
        publisher.current(config.coreEdgeId) ?? { v: 1, revision: 0, edgeId: config.coreEdgeId, meetings: [] },
      );
      await service.sync();
    },
    async close() {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      for (const off of unsubscribe) off();
      await publisher.idle();
    },
  };
}

// The meetings area as a fleet plugin: registered in app.ts under /api/v1.
// Wrapped with fastify-plugin because it shares one decorator, `meetings`,
// with its siblings: commands and rollouts ask it whether a site is busy.
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, type Registry } from 'prom-client';
import { DiemcauError } from '@diemcau/shared';
import '../api/types.js';
import type { MeetingsConfig } from './config.js';
import { createMeetings, type Meetings } from './compose.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The meetings area: `meetings.service.busySites(siteIds, withinMin)` for reboots and rollouts. */
    meetings: Meetings;
  }
}

export interface MeetingsPluginOptions {
  /** Overrides of the fleet tree's `meetings` section (tests); the environment is main.ts's. */
  config?: Partial<MeetingsConfig>;
}

export const meetingsPlugin = fp<MeetingsPluginOptions>(
  async (app: FastifyInstance, opts) => {
    const { fleet } = app;
    const changed = (): void => fleet.events.emit('meetings-changed', { at: new Date().toISOString() });
    const meetings = await createMeetings({
      db: fleet.db,
      publish: (topic, payload) => fleet.broker.publish(topic, payload, { qos: 1, retain: true }),
      ingest: fleet.ingest,
      ports: {
        sites: () => fleet.sites.all(),
        siteIndex: () => fleet.sites.siteIndex(),
        devices: () => fleet.repos.devices.refs(),
      },
      log: fleet.log,
      // Edges get a meeting's plan (and its link tokens) no later than the
      // readiness check probes them.
      config: {
        ...fleet.config.meetings,
        planLeadMin: Math.max(fleet.config.meetings.planLeadMin, fleet.config.readiness.leadMin),
        ...opts.config,
      },
      onChange: changed,
      isLeader: () => fleet.leadership.isLeader,
      fence: fleet.leadership.fence,
    });
    app.decorate('meetings', meetings);
    registerMetrics(fleet.metrics.registry, meetings);
    // Closed while the broker still runs (the fleet closes http first).
    app.addHook('onClose', () => meetings.close());
    await meetings.start();
    // The dashboards hear of every change: what the API changed, and what the
    // clock did (a meeting starting or ending publishes new plans).
    meetings.service.onSync((published) => {
      if (published.length > 0) changed();
    });
    await app.register(async (scope) => {
      scope.addHook('onResponse', async (req, reply) => {
        if (req.method !== 'GET' && reply.statusCode < 300) changed();
      });
      await meetings.routes(scope, (req) => {
        if (!req.operator) throw new DiemcauError('FLEET_ERR_UNAUTHORIZED', 'bearer token required');
        return req.operator;
      });
    });
  },
  { name: 'diemcau-meetings', dependencies: ['diemcau-context'] },
);

/** A Prometheus counter fed from a running total the module keeps itself. */
function counterFrom(registry: Registry, name: string, help: string, read: () => number): void {
  let seen = 0;
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      const now = read();
      if (now > seen) this.inc(now - seen);
      seen = now;
    },
  });
}

function registerMetrics(registry: Registry, m: Meetings): void {
  new Gauge({
    name: 'diemcau_meetings_live',
    help: 'Meetings live now',
    registers: [registry],
    async collect() {
      this.set(await m.service.liveCount());
    },
  });
  counterFrom(
    registry,
    'diemcau_meeting_plans_published_total',
    'Media plans published to edges (retained)',
    () => m.publisher.counters.published,
  );
  counterFrom(
    registry,
    'diemcau_meeting_plan_failures_total',
    'Media plans not published (broker error or schema bug)',
    () => m.publisher.counters.failed,
  );
  counterFrom(
    registry,
    'diemcau_media_stats_accepted_total',
    'media-stats reports taken in',
    () => m.stats.counters.accepted,
  );
  counterFrom(
    registry,
    'diemcau_speak_requests_total',
    'Requests to speak taken in (help button during a live meeting)',
    () => m.requests.counters.accepted,
  );
  counterFrom(
    registry,
    'diemcau_media_stats_rejected_total',
    'media-stats reports refused (an edge speaking for another)',
    () => m.stats.counters.rejected,
  );
}

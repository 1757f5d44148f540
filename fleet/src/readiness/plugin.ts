// The readiness check as a fleet plugin: reports in over MQTT, requests out
// (retained), a clock that starts rounds as meetings enter the lead window,
// and GET/POST /api/v1/meetings/:id/readiness. Only the leader's clock starts
// rounds; any node takes reports and answers the board.
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { Counter, type Registry } from 'prom-client';
import { DiemcauError, deviceTopic, readinessReportCodec } from '@diemcau/shared';
import '../api/types.js';
import { readinessConfig, type ReadinessConfig } from './config.js';
import { ReadinessRepo } from './repository.js';
import { readinessRoutes } from './routes.js';
import { ReadinessService } from './service.js';

declare module 'fastify' {
  interface FastifyInstance {
    readiness: ReadinessService;
  }
}

export interface ReadinessPluginOptions {
  /** Overrides of the fleet tree's `readiness` section (tests). */
  config?: Partial<ReadinessConfig>;
  /** How often the clock looks for meetings entering the lead window. */
  intervalMs?: number;
}

export const readinessPlugin = fp<ReadinessPluginOptions>(
  async (app: FastifyInstance, opts) => {
    const { fleet } = app;
    const cfg = readinessConfig({ ...fleet.config.readiness, ...opts.config });
    const log = fleet.log.child({ module: 'readiness' });
    const meetings = app.meetings;
    const repo = await ReadinessRepo.open(fleet.db);
    const siteName = (siteId: string): string | undefined => fleet.sites.get(siteId)?.name;
    const service = new ReadinessService(
      cfg,
      repo,
      {
        upcoming: (withinMin) => meetings.service.upcoming(withinMin),
        paths: (m) => meetings.service.paths(m),
        siteName,
        siteOfDevice: async (id) => (await fleet.repos.devices.get(id))?.siteId,
        coreEdgeId: meetings.config.coreEdgeId,
        publishRequest: (deviceId, payload) =>
          fleet.broker.publish(deviceTopic(deviceId, 'readiness'), payload, { qos: 1, retain: true }),
        openAlert: (a) => fleet.alerts.open(a),
        resolveAlert: (key, why) => fleet.alerts.resolve(key, why),
        changed: () => fleet.events.emit('meetings-changed', { at: new Date().toISOString() }),
      },
      log,
    );
    app.decorate('readiness', service);
    registerMetrics(fleet.metrics.registry, service);

    const tick = (): void => {
      if (!fleet.leadership.isLeader) return;
      service.tick().catch((err: unknown) => log.error({ err }, 'readiness tick failed'));
    };
    const timer = setInterval(tick, opts.intervalMs ?? 5000);
    timer.unref();
    const offs = [
      fleet.ingest.on('readiness-report', readinessReportCodec, (deviceId, report) => {
        service.onReport(deviceId, report).catch((err: unknown) => log.warn({ err, deviceId }, 'report not taken'));
      }),
      // A meeting scheduled inside the lead window is checked at once, not at the next interval.
      meetings.service.onSync(() => tick()),
    ];
    app.addHook('onClose', async () => {
      clearInterval(timer);
      for (const off of offs) off();
      await service.idle();
    });
    tick();

    await readinessRoutes(app, {
      meetings: meetings.service,
      readiness: service,
      leadMin: cfg.leadMin,
      siteName,
      now: Date.now,
      operatorOf: (req) => {
        if (!req.operator) throw new DiemcauError('FLEET_ERR_UNAUTHORIZED', 'bearer token required');
        return req.operator;
      },
    });
  },
  { name: 'diemcau-readiness', dependencies: ['diemcau-context', 'diemcau-meetings'] },
);

function registerMetrics(registry: Registry, s: ReadinessService): void {
  new Counter({
    name: 'diemcau_readiness_reports_total',
    help: 'Readiness reports by outcome: taken (graded and kept), unknown (no current request), unanswered (a box silent past its slot)',
    labelNames: ['outcome'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ outcome: 'taken' }, s.counters.reported);
      this.inc({ outcome: 'unknown' }, s.counters.unknownReports);
      this.inc({ outcome: 'unanswered' }, s.counters.unanswered);
    },
  });
}

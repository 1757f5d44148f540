import type { FastifyInstance } from 'fastify';
import type {} from '@fastify/swagger';
import { Type } from '@sinclair/typebox';
import { deviceEventCodec, healthCodec, DiemcauError } from '@diemcau/shared';
import '../api/types.js';
import { deviceForRequest } from '../api/auth.js';
import { SelfTestOut } from '../api/schemas.js';
import { createHealthMonitor, type HealthMonitor } from './monitor.js';
import type { TelemetryThresholds } from './planner.js';
import { SelfTestsRepo, HEALTH_MIGRATIONS } from './self-tests.js';

// The room-hardware health area as one fastify plugin: self-test history,
// alerts from 'health', 'events' and telemetry, and its routes under /api/v1.

export interface HealthPluginOptions {
  /** Self-tests kept per device. */
  keepPerDevice?: number;
  thresholds?: TelemetryThresholds;
  expose?: (monitor: HealthMonitor) => void;
}

const ErrorSchema = Type.Object({
  code: Type.String(),
  message: Type.String(),
  details: Type.Optional(Type.Unknown()),
});

export async function healthPlugin(app: FastifyInstance, opts: HealthPluginOptions): Promise<void> {
  const ctx = app.fleet;
  await ctx.db.migrate(HEALTH_MIGRATIONS);
  const selfTests = new SelfTestsRepo(ctx.db, opts.keepPerDevice ?? 200);
  const log = ctx.log.child({ module: 'health' });
  const monitor = await createHealthMonitor({
    alerts: ctx.alerts,
    selfTests,
    siteOf: async (id) => (await ctx.repos.devices.get(id))?.siteId,
    log,
    ...(opts.thresholds ? { thresholds: opts.thresholds } : {}),
  });
  const offs = [
    ctx.ingest.on('health', healthCodec, (deviceId, msg, meta) => {
      monitor
        .onHealth(deviceId, msg, meta.receivedAt)
        .catch((err: unknown) => log.error({ err, deviceId }, 'storing a health message failed'));
    }),
    ctx.ingest.on('events', deviceEventCodec, (deviceId, ev) => monitor.onEvent(deviceId, ev)),
    ctx.ingest.on('telemetry', (deviceId, t) => monitor.onTelemetry(deviceId, t)),
    ctx.events.on('alert-resolved', (a) => monitor.onAlertResolved(a)),
  ];
  app.addHook('onClose', async () => offs.forEach((off) => off()));

  app.get<{ Params: { id: string }; Querystring: { limit?: number } }>(
    '/devices/:id/self-tests',
    {
      schema: {
        tags: ['health'],
        summary: 'Self-test results of one device, newest first',
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 20 })) }),
        response: {
          200: Type.Object({ items: Type.Array(SelfTestOut) }),
          403: ErrorSchema,
          404: ErrorSchema,
        },
      },
    },
    async (req) => {
      await deviceForRequest(app, req, req.params.id);
      return { items: await selfTests.list(req.params.id, req.query.limit ?? 20) };
    },
  );

  app.post<{ Params: { id: string } }>(
    '/devices/:id/help/resolve',
    {
      schema: {
        tags: ['health'],
        summary: "Close a site's help request once the province has called back",
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        response: {
          200: Type.Object({ alertId: Type.Integer(), resolvedAt: Type.Union([Type.String(), Type.Null()]) }),
          403: ErrorSchema,
          404: ErrorSchema,
        },
      },
    },
    async (req) => {
      await deviceForRequest(app, req, req.params.id);
      const a = await monitor.resolveHelp(req.params.id, req.operator?.name ?? req.operator?.id ?? 'operator');
      if (!a) throw new DiemcauError('FLEET_ERR_NOT_FOUND', `no open help request from ${req.params.id}`);
      return { alertId: a.id, resolvedAt: a.resolvedAt };
    },
  );
  opts.expose?.(monitor);
}

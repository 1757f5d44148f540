import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';

export const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/healthz',
    {
      config: { public: true },
      schema: {
        tags: ['health'],
        summary:
          "Liveness: the registry answers; devices online (fleet-wide), this node's MQTT device sessions, its name and whether it leads, uptime",
        response: {
          200: Type.Object({
            status: Type.Literal('ok'),
            devicesOnline: Type.Integer(),
            mqttClients: Type.Integer(),
            node: Type.String(),
            leader: Type.Boolean(),
            uptimeSec: Type.Number(),
          }),
        },
      },
    },
    async () => {
      await app.fleet.db.ping(); // the registry answers
      return {
        status: 'ok' as const,
        devicesOnline: app.fleet.presence.online,
        // The sessions this node holds (aedes' own count drifts when a box takes over its closing session).
        mqttClients: app.fleet.broker.sessionCount,
        node: app.fleet.broker.nodeId,
        leader: app.fleet.leadership.isLeader,
        uptimeSec: Math.round(process.uptime()),
      };
    },
  );

  // Metrics name sites' counts, memory and refusal rates: an operator's (a
  // viewer token for the scraper) unless DIEMCAU_METRICS_PUBLIC says otherwise.
  app.get(
    '/metrics',
    { config: { public: app.fleet.config.metricsPublic }, schema: { tags: ['health'], hide: true } },
    async (_request, reply) => {
      const { registry } = app.fleet.metrics;
      return reply.type(registry.contentType).send(await registry.metrics());
    },
  );
};

import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { siteScope } from './auth.js';
import { AlertOut, authErrors, ListOf } from './schemas.js';

export const alertsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/alerts',
    {
      schema: {
        tags: ['alerts'],
        summary: 'Alerts, newest first: device-offline, flapping, district-outage and those other modules raise',
        querystring: Type.Object({
          state: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('resolved')])),
          type: Type.Optional(Type.String()),
          deviceId: Type.Optional(Type.String()),
          limit: Type.Integer({ minimum: 1, maximum: 5000, default: 500 }),
        }),
        response: { 200: ListOf(AlertOut), ...authErrors },
      },
    },
    async (request) => {
      const scope = siteScope(app, request);
      const items = (await app.fleet.alerts.list(request.query)).filter((a) =>
        scope ? a.siteId !== null && scope.has(a.siteId) : true,
      );
      return { items };
    },
  );
};

// The icon browsers ask for on the edge's pages (the TV's kiosk, the join
// page): the same one the fleet's dashboard serves, so a participant's tab
// shows the project's mark and the edge logs no 404 on every first visit.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { faviconIco } from '@diemcau/shared';

const ICON = faviconIco();

export const iconRoute: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/favicon.ico',
    {
      config: { access: 'public' },
      schema: {
        operationId: 'getFavicon',
        tags: ['browser'],
        summary: "The edge's icon (32×32, an ICO holding one PNG)",
        response: {
          200: {
            description: 'The icon',
            content: { 'image/x-icon': { schema: Type.Unsafe<Buffer>({ type: 'string', format: 'binary' }) } },
          },
        },
      },
    },
    async (_req, reply) => reply.type('image/x-icon').header('cache-control', 'public, max-age=86400').send(ICON),
  );
};

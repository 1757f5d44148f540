import fp from 'fastify-plugin';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import type { FleetContext } from '../context.js';
import { authPlugin } from './auth.js';
import { installErrorHandling } from './errors.js';
import { ErrorSchema } from './schemas.js';
import './types.js';

/** Shared decorators (the fleet context, auth), OpenAPI and error handling; routes come after. */
export async function installApiBase(app: FastifyInstance, fleet: FleetContext, version: string): Promise<void> {
  await app.register(
    fp(
      async (a) => {
        a.decorate('fleet', fleet);
      },
      { name: 'diemcau-context' },
    ),
  );
  app.addSchema(ErrorSchema);
  await app.register(swagger, {
    openapi: {
      info: { title: 'Diemcau fleet API', version, description: 'Sites, devices, presence and alerts of a video-briefing network' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(authPlugin);
  installErrorHandling(app);
}

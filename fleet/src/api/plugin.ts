import fp from 'fastify-plugin';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import type { FleetContext } from '../context.js';
import { authPlugin } from './auth.js';
import { installErrorHandling } from './errors.js';
import { swaggerOptions } from './openapi.js';
import { ErrorSchema } from './schemas.js';
import { serialPrivacyPlugin } from './serial-privacy.js';
import './types.js';

/**
 * Shared decorators (the fleet context, auth), OpenAPI and error handling;
 * routes come after. Auth is registered before anything that adds routes, so
 * its hooks reach every plugin, fastify's own included (auth.ts says why).
 */
export async function installApiBase(app: FastifyInstance, fleet: FleetContext, version: string): Promise<void> {
  await app.register(
    fp(
      async (a) => {
        a.decorate('fleet', fleet);
      },
      { name: 'diemcau-context' },
    ),
  );
  await app.register(authPlugin);
  app.addSchema(ErrorSchema);
  // Who may call what, the shared refusals and the operationIds are filled in
  // for every route there (openapi.ts), not route by route.
  await app.register(swagger, swaggerOptions({ version }));
  // /docs is public: the OpenAPI document and its viewer describe the API's
  // shape, which is published with the source anyway, and hold no data. Its
  // routes are marked public where they are registered (swagger-ui takes no
  // route config), inside this scope only.
  await app.register(async (docs) => {
    docs.addHook('onRoute', (r) => {
      r.config = { ...r.config, public: true };
    });
    await docs.register(swaggerUi, { routePrefix: '/docs' });
  });
  // After auth (it reads request.operator), before any route.
  await app.register(serialPrivacyPlugin);
  installErrorHandling(app);
}

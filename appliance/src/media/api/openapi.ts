// The edge API's OpenAPI document, built by @fastify/swagger from the routes
// themselves (their schemas, operationIds and summaries) and served by the
// edge at GET /media/v1/openapi.json. Who may call an operation follows from
// its access class (api/access.ts), written here once so that the document
// says what the access hook does: each token is its own bearer scheme.
import swagger, { type FastifyDynamicSwaggerOptions, type SwaggerTransform } from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import type { Access } from './access.js';

type Requirement = Array<Record<string, string[]>>;

const SECURITY: Record<Access, Requirement> = {
  // An empty list: no credential at all (overrides nothing, says "public").
  public: [],
  local: [],
  admin: [{ adminToken: [] }],
  browser: [{ joinLink: [] }, { kioskToken: [] }, { adminToken: [] }, { joinToken: [] }],
  link: [{ linkToken: [] }],
};

const WHO: Record<Access, string> = {
  public: 'No token.',
  local: 'No token; answered only to this box (a loopback source address), 401 to anyone else.',
  admin: 'The admin token.',
  browser:
    "A join link the fleet signed for this meeting and this edge's site (401 when it is tampered with, expired or signed by another key; 403 when it names another meeting or site, or its meeting has ended here), the TV's token, the admin token, or a lab's fixed join token; each kind has its own share of the peer limits, join links and the fixed token together.",
  link: "The meeting's link token from the media plan, from an address the plan names for the downstream edge.",
};

/** Wording for an answer a route gives without describing it (swagger would say "Default Response"). */
const ANSWERS: Record<string, string> = { '200': 'OK', '201': 'Created', '202': 'Accepted', '204': 'Done; no body' };

function described(responses: unknown): unknown {
  if (responses === null || typeof responses !== 'object') return responses;
  return Object.fromEntries(
    Object.entries(responses).map(([status, r]) => {
      const words = ANSWERS[status];
      const own = r as { description?: unknown };
      return [status, words !== undefined && own.description === undefined ? { ...own, description: words } : r];
    }),
  );
}

/**
 * Adds who may call each operation and describes its answers. It works on a
 * copy: the route's own schema is what the edge validates with.
 */
export const transformRoute: SwaggerTransform = ({ schema, url, route }) => {
  const access = route.config?.access ?? 'admin';
  const s = (schema ?? {}) as Record<string, unknown>;
  const description = [typeof s['description'] === 'string' ? s['description'] : undefined, WHO[access]]
    .filter(Boolean)
    .join(' ');
  return { schema: { ...s, description, security: SECURITY[access], response: described(s['response']) }, url };
};

export function swaggerOptions(version: string): FastifyDynamicSwaggerOptions {
  const bearer = (description: string) => ({ type: 'http' as const, scheme: 'bearer', description });
  return {
    openapi: {
      info: {
        title: 'Diemcau media edge API',
        version,
        description:
          "A site's or the province's media edge: its plan, browsers in the room, cascade links between edges, taps, and the TV's page",
        license: { name: 'MIT', url: 'https://opensource.org/licenses/MIT' },
      },
      // Relative: served by the edge it describes, under whatever address the caller reached it by.
      servers: [{ url: '/', description: 'The edge serving this document' }],
      tags: [
        { name: 'edge', description: 'The edge itself: health, plan, counters (the agent on the same box)' },
        { name: 'taps', description: 'Plain RTP out of a meeting, to allowed addresses only' },
        { name: 'browser', description: 'Laptops, tablets and the TV in the room, over WebRTC (mediasoup-client)' },
        { name: 'cascade', description: 'Links from downstream edges (site to district to province)' },
        { name: 'kiosk', description: "The TV's own page, for this box only" },
      ],
      components: {
        securitySchemes: {
          adminToken: bearer('DIEMCAU_EDGE_ADMIN_TOKEN: the agent and local tools; never leaves the box'),
          joinLink: bearer(
            "A join link from the fleet (POST /api/v1/meetings/{id}/join-links): ed25519-signed claims naming the meeting, the site, the role (participant or listener) and the expiry, checked against the fleet's key in this edge's media plan (joinKey)",
          ),
          joinToken: bearer(
            'DIEMCAU_EDGE_JOIN_TOKEN: a fixed token for browsers, only when set (an edge without a fleet: a lab, tests, benchmarks)',
          ),
          kioskToken: bearer("The TV's own token, made at start and shown only to this box (GET /kiosk/state)"),
          linkToken: bearer("The meeting's link token (acceptToken in this edge's media plan)"),
        },
      },
    },
    transform: transformRoute,
    // Shared schemas keep their own name (`EdgeError`) in components.
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
    },
  };
}

export const OPENAPI_PATH = '/media/v1/openapi.json';

/** Registers @fastify/swagger (before the routes: it collects them as they are added) and the document's route. */
export async function installOpenApi(app: FastifyInstance, version: string): Promise<void> {
  await app.register(swagger, swaggerOptions(version));
  app.get(
    OPENAPI_PATH,
    {
      config: { access: 'public' },
      schema: { hide: true },
    },
    async (_req, reply) => reply.header('cache-control', 'no-store').send(app.swagger()),
  );
}

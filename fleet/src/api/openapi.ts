import type { FastifyDynamicSwaggerOptions, SwaggerTransform } from '@fastify/swagger';
import type { FastifySchema, RouteOptions } from 'fastify';
import { OPERATION_IDS, operationKey } from './openapi-operations.js';

// The parts of the OpenAPI document that follow from how the fleet serves
// HTTP rather than from any one route, written once here so that a new route
// cannot forget them: who may call it (auth.ts decides on `config.public` and
// `config.roles`; the document says the same), the refusals every protected
// or validated route can give, and a stable operationId.

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** A refusal answered with the shared Error body (`{ code, message }`, api/errors.ts). */
const refusal = (description: string) => ({ $ref: 'Error', description });

type Responses = Record<string, unknown>;

/** Wording for a refusal a route lists as a bare Error reference. */
const REFUSALS: Record<string, string> = {
  '400': 'The request does not match the schema, or breaks a rule of this operation (FLEET_ERR_BAD_REQUEST)',
  '401': 'No bearer token, or one that is unknown or revoked (FLEET_ERR_UNAUTHORIZED)',
  '403': 'The operator may not do this: its role, a viewer writing, or outside its area (FLEET_ERR_FORBIDDEN)',
  '404': 'No such resource, or none this operator may see (FLEET_ERR_NOT_FOUND and the like)',
  '409': 'Conflicts with the current state (FLEET_ERR_CONFLICT and the like)',
  '413': 'The body is larger than this operation takes (PROTO_ERR_TOO_LARGE)',
  '429': 'Too many attempts; try later (FLEET_ERR_RATE_LIMITED)',
};
/** Wording for an answer a route gives without describing it. */
const ANSWERS: Record<string, string> = {
  '200': 'OK',
  '201': 'Created',
  '202': 'Accepted: it is carried out after this answer',
  '204': 'Done; no body',
};
const PUBLIC_401 =
  'The credential the request carries (not a bearer token) is unknown, spent or expired (FLEET_ERR_UNAUTHORIZED)';

/**
 * What the route's own schema leaves out and the server does anyway. A
 * status the route documents in its own words is kept; a bare Error schema
 * or reference (schemas.ts `authErrors`) gets the wording below.
 */
export function documentedResponses(route: Pick<RouteOptions, 'method' | 'config'>, schema: FastifySchema): Responses {
  const own = (schema.response ?? {}) as Responses;
  const extra: Responses = {};
  const validated = schema.body !== undefined || schema.querystring !== undefined || schema.params !== undefined;
  if (validated) extra['400'] = refusal(REFUSALS['400']);
  if (route.config?.public !== true) {
    extra['401'] = refusal(REFUSALS['401']);
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const writes = methods.some((m) => !READ_METHODS.has(String(m)));
    // The auth hook refuses a role outside config.roles and a viewer's write.
    if (route.config?.roles !== undefined || writes) extra['403'] = refusal(REFUSALS['403']);
  }
  const merged: Responses = { ...extra };
  for (const [status, response] of Object.entries(own)) {
    const bare = isErrorSchema(response) && (response as { description?: unknown }).description === undefined;
    // A public route's own 401 is about a credential it reads itself (an
    // enrolment token), not the operator's bearer token.
    const words = status === '401' && route.config?.public === true ? PUBLIC_401 : REFUSALS[status];
    if (bare) merged[status] = extra[status] ?? (words ? refusal(words) : response);
    else merged[status] = described(status, response);
  }
  return merged;
}

/** The response schema with a description, when it has none (swagger would say "Default Response"). */
function described(status: string, response: unknown): unknown {
  const r = response as { description?: unknown } | null;
  if (r === null || typeof r !== 'object' || r.description !== undefined) return response;
  const words = ANSWERS[status];
  return words === undefined ? response : { ...r, description: words };
}

/**
 * The shared Error body, by reference or written out: the meetings, commands
 * and health areas spell it out so that their routes also run on a bare
 * fastify in their own tests, where no shared `Error` schema is registered.
 */
function isErrorSchema(s: unknown): boolean {
  const o = s as { $ref?: unknown; type?: unknown; properties?: Record<string, unknown> } | null;
  if (o === null || typeof o !== 'object') return false;
  if (o.$ref === 'Error') return true;
  const keys = Object.keys(o.properties ?? {})
    .sort()
    .join(',');
  return o.type === 'object' && (keys === 'code,message' || keys === 'code,details,message');
}

/**
 * @fastify/swagger's per-route transform. It works on a copy: the route's own
 * schema is what fastify validates and serialises with, and must not change.
 */
export const transformRoute: SwaggerTransform = ({ schema, url, route }) => {
  const isPublic = route.config?.public === true;
  const methods = Array.isArray(route.method) ? route.method : [route.method];
  const ids = methods.map((m) => OPERATION_IDS[operationKey(String(m), route.url)]).filter((id) => id !== undefined);
  const out: FastifySchema & Record<string, unknown> = {
    ...schema,
    ...(ids.length === 1 ? { operationId: ids[0] } : {}),
    // An empty list overrides the document-wide bearer requirement.
    ...(isPublic ? { security: [] } : {}),
    response: documentedResponses(route, schema ?? {}),
  };
  if (schema?.querystring) out.querystring = callerView(schema.querystring);
  if (schema?.body) out.body = callerView(schema.body);
  return { schema: out, url };
};

/**
 * A request schema as the caller sees it. A property with a default (`limit`,
 * a token's `uses`, a rollout's `abort.maxFailureRate`) is filled in by
 * validation when left out, so to a caller it is optional; TypeBox lists it
 * as required because the handler always sees a value. Nested objects too.
 * Answers keep their schemas as they are: there the value is always present.
 */
function callerView(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(callerView);
  if (schema === null || typeof schema !== 'object') return schema;
  const o = schema as Record<string, unknown> & {
    required?: unknown;
    properties?: Record<string, { default?: unknown }>;
  };
  const out: Record<string, unknown> = { ...o };
  for (const key of ['properties', 'patternProperties']) {
    const props = o[key] as Record<string, unknown> | undefined;
    if (props) out[key] = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, callerView(v)]));
  }
  for (const key of ['items', 'anyOf', 'oneOf', 'allOf', 'additionalProperties']) {
    if (o[key] !== undefined && typeof o[key] === 'object') out[key] = callerView(o[key]);
  }
  if (Array.isArray(o.required) && o.properties) {
    const props = o.properties;
    const required = (o.required as string[]).filter((name) => props[name]?.default === undefined);
    if (required.length > 0) out.required = required;
    else delete out.required;
  }
  return out;
}

export interface OpenApiOptions {
  version: string;
}

/** The options @fastify/swagger is registered with (api/plugin.ts). */
export function swaggerOptions(o: OpenApiOptions): FastifyDynamicSwaggerOptions {
  return {
    openapi: {
      info: {
        title: 'Diemcau fleet API',
        version: o.version,
        description: 'Sites, devices, presence and alerts of a video-briefing network',
        license: { name: 'MIT', url: 'https://opensource.org/licenses/MIT' },
      },
      // Relative: the document is served by the fleet it describes, under
      // whatever name and scheme the caller reached it by (a province's own
      // host name, an address on the district VPN, or localhost in the demo).
      servers: [{ url: '/', description: 'The fleet serving this document' }],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An operator token' } } },
      security: [{ bearer: [] }],
    },
    transform: transformRoute,
    // Shared schemas keep their own name (`Error`) in components, instead of
    // `def-0`: generated clients name their types after it.
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
    },
  };
}

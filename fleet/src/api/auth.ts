import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { DiemcauError } from '@diemcau/shared';
import type { Operator } from '../db/operators-repo.js';
import { canSeeSite, describeArea, siteScopeOf } from '../access.js';
import { MinuteBudget, RefusalAggregator, type Refusal } from './refusals.js';
import './types.js';

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Refused writes per operator and minute that get a row of their own (the rest are aggregated). */
const OWN_REFUSAL_ROWS_PER_MIN = 20;

/** One method of one registered route and who may call it (for tests, the fuzz run and the start-up log). */
export interface RouteAccess {
  method: string;
  /** The route as registered, with its prefix: `/api/v1/devices/:id`. */
  url: string;
  public: boolean;
  roles: string[] | undefined;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route registered after the auth plugin, one entry per method. */
    routeAccess(): readonly RouteAccess[];
  }
  interface FastifyRequest {
    /** Why this request was refused, set by the auth hook (for the refusal count). */
    refusalReason: string | undefined;
  }
}

/**
 * The `Authorization: Bearer <token>` credential, or undefined. The scheme is
 * case-insensitive (RFC 9110 §11.1); anything else in the header, or a second
 * value, is no credential. Tokens are never read from the query string: URLs
 * end up in logs, browser history and proxies.
 */
export function bearerToken(header: string | undefined): string | undefined {
  const m = header === undefined ? null : /^bearer +([!-~]+) *$/i.exec(header);
  return m ? m[1] : undefined;
}

/**
 * Fail closed: every route needs a valid operator unless the route fastify
 * MATCHED is marked `config: { public: true }`. The decision never looks at
 * the URL as spelled (percent-encodings, absolute-form targets, dot segments
 * all land on the route the router picked, or on no route). A request that
 * matches no route is not public either: without a token it gets 401, so an
 * anonymous scanner cannot tell which routes exist. Viewers may only read;
 * `config.roles` narrows a route further.
 *
 * Registered first on the root instance (api/plugin.ts), before any route or
 * plugin, so every encapsulated plugin (swagger-ui, ota, meetings, commands,
 * the dashboard) inherits the hooks: fastify copies a parent's hooks when a
 * child is created, so a plugin registered earlier would escape them.
 *
 * Every write by an operator lands in the audit log with its outcome. Every
 * 401 and 403 is counted in /metrics and audited in aggregate, one row per
 * source address and minute (refusals.ts).
 */
export const authPlugin = fp(
  async (app: FastifyInstance) => {
    app.decorateRequest('operator', null);
    app.decorateRequest('auditDetails', undefined);
    app.decorateRequest('auditTarget', undefined);
    app.decorateRequest('refusalReason', undefined);

    // The options objects themselves are kept: onRoute hooks of inner scopes
    // (the /docs scope marks its routes public) run after this one.
    const registered: RouteOptions[] = [];
    const routeAccess = (): RouteAccess[] =>
      registered.flatMap((r) =>
        (Array.isArray(r.method) ? r.method : [r.method]).map((method) => ({
          method: String(method),
          url: r.url,
          public: r.config?.public === true,
          roles: r.config?.roles,
        })),
      );
    app.decorate('routeAccess', routeAccess);
    app.addHook('onRoute', (r: RouteOptions) => {
      registered.push(r);
    });
    app.addHook('onReady', async () => {
      const all = routeAccess();
      const open = all.filter((r) => r.public).map((r) => `${r.method} ${r.url}`);
      app.log.info({ publicRoutes: open, routes: all.length }, 'routes open without a token');
    });

    // Named: the route-table test checks that this hook is on every route.
    app.addHook('onRequest', async function requireOperator(request) {
      const cfg = request.routeOptions.config;
      if (!request.is404 && cfg.public === true) return;
      const token = bearerToken(request.headers.authorization);
      const operator = token ? await app.fleet.repos.operators.byToken(token) : undefined;
      if (!operator) {
        request.refusalReason = token ? 'bad-token' : 'no-token';
        throw new DiemcauError('FLEET_ERR_UNAUTHORIZED', token ? 'unknown or revoked token' : 'bearer token required');
      }
      request.operator = operator;
      if (cfg.roles && !cfg.roles.includes(operator.role)) {
        request.refusalReason = 'role';
        throw new DiemcauError('FLEET_ERR_FORBIDDEN', `needs role ${cfg.roles.join(' or ')}`);
      }
      if (operator.role === 'viewer' && !READ_METHODS.has(request.method)) {
        request.refusalReason = 'viewer-write';
        throw new DiemcauError('FLEET_ERR_FORBIDDEN', 'viewers may only read');
      }
    });

    const refusals = new RefusalAggregator();
    const ownRows = new MinuteBudget(OWN_REFUSAL_ROWS_PER_MIN);
    const writeRows = async (rows: ReturnType<RefusalAggregator['drain']>): Promise<void> => {
      for (const row of rows) {
        try {
          await app.fleet.repos.audit.record(row);
        } catch (err) {
          app.log.error({ err }, 'audit write failed');
        }
      }
    };
    // A quiet minute after a burst is still written within a minute or so.
    const timer = setInterval(() => void writeRows(refusals.flushIfDue(Date.now())), 15_000);
    timer.unref();
    app.addHook('onClose', async () => {
      clearInterval(timer);
      await writeRows(refusals.drain());
    });

    // Before the answer leaves (onSend, not onResponse): a client that reads
    // the audit log right after its write finds the row there.
    app.addHook('onSend', async (request, reply, payload) => {
      const op = request.operator;
      // An operator's write to a route has its own row, whatever the outcome.
      // Refused by this hook (role, viewer), only the first few per operator
      // and minute do; the rest join the aggregate, so even a valid token
      // cannot flood the log. A write to no route did nothing: aggregate only.
      // Refused means refused by this hook or by the handler's own access
      // check (a 403 for a site outside the operator's area): both share the
      // per-operator budget, so a valid token cannot flood the log either way.
      const status = reply.statusCode;
      const refused = request.refusalReason !== undefined || status === 401 || status === 403;
      const written =
        op !== null &&
        !READ_METHODS.has(request.method) &&
        !request.is404 &&
        (!refused || ownRows.take(op.id, Date.now()));
      if (written) await auditWrite(app, request, reply, op);
      if (status !== 401 && status !== 403) return payload;
      const reason = request.refusalReason ?? 'handler';
      app.fleet.metrics.httpAuthRefused.inc({ status: String(status), reason });
      if (written) return payload;
      const refusal: Refusal = {
        source: request.ip,
        status,
        reason,
        route: `${request.method} ${request.is404 ? '(no route)' : (request.routeOptions.url ?? '?')}`,
        ...(request.is404 ? { path: request.url } : {}),
        operatorId: op?.id ?? null,
      };
      await writeRows(refusals.add(refusal, Date.now()));
      return payload;
    });
  },
  { name: 'diemcau-auth', dependencies: ['diemcau-context'] },
);

async function auditWrite(
  app: FastifyInstance,
  request: FastifyRequest,
  reply: FastifyReply,
  op: Operator,
): Promise<void> {
  try {
    await app.fleet.repos.audit.record({
      operatorId: op.id,
      operatorName: op.name,
      action: `${request.method} ${request.routeOptions.url ?? '?'}`,
      target: request.auditTarget ?? paramsTarget(request),
      outcome: String(reply.statusCode),
      details: request.auditDetails,
    });
  } catch (err) {
    request.log.error({ err }, 'audit write failed');
  }
}

function paramsTarget(request: FastifyRequest): string | null {
  const params = request.params as Record<string, string> | undefined;
  if (!params || Object.keys(params).length === 0) return null;
  return Object.entries(params)
    .map(([k, v]) => `${k}:${v}`)
    .join(',');
}

/** Which sites an operator may see; null means all (access.ts holds the rule). */
export function siteScope(app: FastifyInstance, request: FastifyRequest): ReadonlySet<string> | null {
  return siteScopeOf(app.fleet.sites.siteIndex(), request.operator);
}

/** 404 for an unknown site, 403 for one outside the operator's area. */
export function assertSiteAccess(app: FastifyInstance, request: FastifyRequest, siteId: string): void {
  if (!app.fleet.sites.get(siteId)) throw new DiemcauError('FLEET_ERR_UNKNOWN_SITE', siteId);
  const op = request.operator;
  if (!canSeeSite(app.fleet.sites.siteIndex(), op, siteId)) {
    throw new DiemcauError('FLEET_ERR_FORBIDDEN', `site ${siteId} is outside ${describeArea(op?.area ?? null)}`);
  }
}

/** The device, or 404; 403 when it sits outside the operator's area. */
export async function deviceForRequest(app: FastifyInstance, request: FastifyRequest, deviceId: string) {
  const device = await app.fleet.repos.devices.get(deviceId);
  if (!device || device.revokedAt) throw new DiemcauError('FLEET_ERR_UNKNOWN_DEVICE', deviceId);
  assertSiteAccess(app, request, device.siteId);
  return device;
}

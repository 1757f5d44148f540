import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DiemcauError } from '@diemcau/shared';
import './types.js';

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Bearer-token operators on everything under /api/ except routes marked
 * `config: { public: true }`. Viewers may only read; `config.roles` narrows
 * a route further. Every write by an operator lands in the audit log with
 * its outcome, whatever the handler does.
 */
export const authPlugin = fp(
  async (app: FastifyInstance) => {
    app.decorateRequest('operator', null);
    app.decorateRequest('auditDetails', undefined);
    app.decorateRequest('auditTarget', undefined);

    app.addHook('onRequest', async (request) => {
      const cfg = request.routeOptions.config;
      if (!request.url.startsWith('/api/') || cfg.public || request.routeOptions.url === undefined) return;
      const header = request.headers.authorization;
      const token = header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
      const operator = token ? app.fleet.repos.operators.byToken(token) : undefined;
      if (!operator) throw new DiemcauError('FLEET_ERR_UNAUTHORIZED', token ? 'unknown or revoked token' : 'bearer token required');
      request.operator = operator;
      if (cfg.roles && !cfg.roles.includes(operator.role)) {
        throw new DiemcauError('FLEET_ERR_FORBIDDEN', `needs role ${cfg.roles.join(' or ')}`);
      }
      if (operator.role === 'viewer' && !READ_METHODS.has(request.method)) {
        throw new DiemcauError('FLEET_ERR_FORBIDDEN', 'viewers may only read');
      }
    });

    app.addHook('onResponse', async (request, reply) => {
      const op = request.operator;
      if (!op || READ_METHODS.has(request.method)) return;
      try {
        app.fleet.repos.audit.record({
          operatorId: op.id,
          operatorName: op.name,
          action: `${request.method} ${request.routeOptions.url ?? request.url}`,
          target: request.auditTarget ?? paramsTarget(request),
          outcome: String(reply.statusCode),
          details: request.auditDetails,
        });
      } catch (err) {
        request.log.error({ err }, 'audit write failed');
      }
    });
  },
  { name: 'diemcau-auth', dependencies: ['diemcau-context'] },
);

function paramsTarget(request: FastifyRequest): string | null {
  const params = request.params as Record<string, string> | undefined;
  if (!params || Object.keys(params).length === 0) return null;
  return Object.entries(params)
    .map(([k, v]) => `${k}:${v}`)
    .join(',');
}

/** Which sites an operator may see; null means all. */
export function siteScope(app: FastifyInstance, request: FastifyRequest): Set<string> | null {
  const op = request.operator;
  if (!op || op.role !== 'district-operator') return null;
  return new Set(op.districtId ? app.fleet.sites.subtree(op.districtId) : []);
}

/** 404 for an unknown site, 403 for one outside the operator's district. */
export function assertSiteAccess(app: FastifyInstance, request: FastifyRequest, siteId: string): void {
  if (!app.fleet.sites.get(siteId)) throw new DiemcauError('FLEET_ERR_UNKNOWN_SITE', siteId);
  const op = request.operator;
  if (op?.role === 'district-operator' && !(op.districtId && app.fleet.sites.isWithin(siteId, op.districtId))) {
    throw new DiemcauError('FLEET_ERR_FORBIDDEN', `site ${siteId} is outside district ${op.districtId ?? '(none)'}`);
  }
}

/** The device, or 404; 403 when it sits outside the operator's district. */
export function deviceForRequest(app: FastifyInstance, request: FastifyRequest, deviceId: string) {
  const device = app.fleet.repos.devices.get(deviceId);
  if (!device || device.revokedAt) throw new DiemcauError('FLEET_ERR_UNKNOWN_DEVICE', deviceId);
  assertSiteAccess(app, request, device.siteId);
  return device;
}

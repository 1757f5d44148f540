import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  DiemcauError,
  EnrolmentTokenResponseSchema,
  RelayGroupSchema,
  SiteIdSchema,
  validateRelayGroups,
} from '@diemcau/shared';
import { newSecret } from '../db/secrets.js';
import { assertSiteAccess, siteScope } from './auth.js';
import { authErrors, HierarchyOut, ListOf, SiteOut } from './schemas.js';

export const sitesRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/sites',
    {
      schema: {
        tags: ['sites'],
        summary: 'The site hierarchy (an area operator sees its area)',
        querystring: Type.Object({ parentId: Type.Optional(Type.String()), kind: Type.Optional(Type.String()) }),
        response: { 200: ListOf(SiteOut), ...authErrors },
      },
    },
    async (request) => {
      const scope = siteScope(app, request);
      const { parentId, kind } = request.query;
      const items = app.fleet.sites
        .all()
        .filter((s) => (scope ? scope.has(s.id) : true))
        .filter((s) => (parentId === undefined ? true : s.parentId === parentId))
        .filter((s) => (kind === undefined ? true : s.kind === kind));
      return { items: [...items] };
    },
  );

  app.get(
    '/hierarchy',
    {
      schema: {
        tags: ['sites'],
        summary:
          "The registry's dataset: its site kinds with their labels, and its relay groups (an area operator sees the groups and sites of its area)",
        response: {
          200: HierarchyOut,
          ...authErrors,
        },
      },
    },
    async (request) => {
      const scope = siteScope(app, request);
      const ds = app.fleet.sites.dataset();
      const relayGroups = app.fleet.sites
        .relayGroups()
        .map((g) => (scope ? { ...g, siteIds: g.siteIds.filter((id) => scope.has(id)) } : g))
        .filter((g) => g.siteIds.length > 0);
      return {
        dataset: ds?.dataset ?? null,
        name: ds?.name ?? null,
        kinds: app.fleet.sites.kinds().list(),
        relayGroups,
      };
    },
  );

  app.put(
    '/hierarchy/relay-groups',
    {
      config: { roles: ['admin'] },
      schema: {
        tags: ['sites'],
        summary:
          'Replace the relay groups (which sites link through which hub): checked whole against the registry, audited; meetings planned from now on follow them',
        body: Type.Object(
          { relayGroups: Type.Array(RelayGroupSchema, { maxItems: 10_000 }) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ relayGroups: Type.Integer() }), ...authErrors, 400: Type.Ref('Error') },
      },
    },
    async (request) => {
      const { repos, sites } = app.fleet;
      const { relayGroups } = request.body;
      const problems = validateRelayGroups(relayGroups, new Set(sites.all().map((s) => s.id)));
      request.auditTarget = 'hierarchy';
      if (problems.length > 0) {
        request.auditDetails = { problems: problems.slice(0, 20) };
        throw new DiemcauError('FLEET_ERR_BAD_REQUEST', `relay groups unchanged: ${problems.slice(0, 5).join('; ')}`, {
          details: problems,
        });
      }
      const stored = await repos.hierarchy.get();
      await repos.hierarchy.put({
        dataset: stored?.dataset ?? 'registry',
        name: stored?.name ?? { vi: 'Sổ đăng ký', en: 'Registry' },
        kinds: stored?.kinds ?? sites.kinds().list(),
        relayGroups,
      });
      await sites.reload();
      // Outage correlation counts devices per group: tell it where each box is now.
      for (const d of await repos.devices.list()) if (!d.revokedAt) app.fleet.presence.remember(d.id, d.siteId);
      request.auditDetails = {
        relayGroups: relayGroups.map((g) => ({ id: g.id, hubSiteId: g.hubSiteId, sites: g.siteIds.length })),
      };
      return { relayGroups: relayGroups.length };
    },
  );

  app.post(
    '/sites/:siteId/enrollment-tokens',
    {
      schema: {
        tags: ['enrolment'],
        summary: 'Mint an enrolment token for a site (shown once; stored hashed)',
        params: Type.Object({ siteId: SiteIdSchema }),
        body: Type.Optional(
          Type.Object(
            {
              uses: Type.Integer({
                minimum: 1,
                maximum: 10_000,
                default: 1,
                description: 'how many boxes may enrol with it',
              }),
              ttlSeconds: Type.Optional(Type.Integer({ minimum: 60, maximum: 365 * 24 * 3600 })),
            },
            { additionalProperties: false },
          ),
        ),
        response: {
          201: Type.Composite([
            EnrolmentTokenResponseSchema,
            Type.Object({ siteId: Type.String(), uses: Type.Integer() }),
          ]),
          ...authErrors,
          404: Type.Ref('Error'),
        },
      },
    },
    async (request, reply) => {
      const { siteId } = request.params;
      assertSiteAccess(app, request, siteId);
      const uses = request.body?.uses ?? 1;
      const ttl = request.body?.ttlSeconds ?? app.fleet.config.enrollmentTokenTtlSec;
      const token = newSecret(24);
      const expiresAt = new Date(Date.now() + ttl * 1000);
      await app.fleet.repos.enrollment.createToken(siteId, token, uses, expiresAt, request.operator?.id ?? null);
      request.auditTarget = `site:${siteId}`;
      request.auditDetails = { uses, expiresAt: expiresAt.toISOString() };
      return reply.status(201).send({ token, expiresAt: expiresAt.toISOString(), siteId, uses });
    },
  );
};

import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { DiemcauError } from '@diemcau/shared';
import { newId, newSecret } from '../db/secrets.js';
import { canonicalRole, type OperatorArea } from '../access.js';
import { AuditOut, authErrors, ListOf, OperatorAreaSchema, OperatorOut, OperatorRoleSchema } from './schemas.js';

export const operatorsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/operators',
    {
      config: { roles: ['admin'] },
      schema: {
        tags: ['operators'],
        summary: 'Create an operator; the token is shown once and stored hashed',
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 200 }),
            role: OperatorRoleSchema,
            area: Type.Optional(OperatorAreaSchema),
            districtId: Type.Optional(Type.String({ description: 'older spelling of area { kind: subtree, siteId }' })),
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Composite([OperatorOut, Type.Object({ token: Type.String() })]), ...authErrors },
      },
    },
    async (request, reply) => {
      const { name, districtId } = request.body;
      const role = canonicalRole(request.body.role);
      if (role === null) throw new DiemcauError('FLEET_ERR_BAD_REQUEST', `unknown role ${request.body.role}`);
      if (request.body.area && districtId !== undefined)
        throw new DiemcauError('FLEET_ERR_BAD_REQUEST', 'give area or districtId, not both');
      const area: OperatorArea | null =
        request.body.area ?? (districtId === undefined ? null : { kind: 'subtree', siteId: districtId });
      if (role === 'area-operator') {
        // Any site of the hierarchy roots an area now, whatever its kind.
        if (!area)
          throw new DiemcauError(
            'FLEET_ERR_BAD_REQUEST',
            'an area operator needs an area: { kind: subtree, siteId } or { kind: relay-group, groupId }',
          );
        if (area.kind === 'subtree' && !app.fleet.sites.get(area.siteId))
          throw new DiemcauError('FLEET_ERR_BAD_REQUEST', `no site ${area.siteId}`);
        if (area.kind === 'relay-group' && !app.fleet.sites.relayGroup(area.groupId))
          throw new DiemcauError('FLEET_ERR_BAD_REQUEST', `no relay group ${area.groupId}`);
      } else if (area) {
        throw new DiemcauError('FLEET_ERR_BAD_REQUEST', 'an area (or districtId) is only for area operators');
      }
      const token = newSecret(32);
      const op = await app.fleet.repos.operators.create({ id: newId('op', 6), name, role, area }, token);
      request.auditTarget = `operator:${op.id}`;
      request.auditDetails = { name, role, area: op.area };
      return reply.status(201).send({ ...op, token });
    },
  );

  app.get(
    '/operators',
    {
      config: { roles: ['admin'] },
      schema: {
        tags: ['operators'],
        summary: 'Operators not revoked (their tokens are never shown again)',
        response: { 200: ListOf(OperatorOut), ...authErrors },
      },
    },
    async () => ({ items: await app.fleet.repos.operators.list() }),
  );

  app.delete(
    '/operators/:id',
    {
      config: { roles: ['admin'] },
      schema: {
        tags: ['operators'],
        summary: 'Revoke an operator: its token stops working at once',
        params: Type.Object({ id: Type.String() }),
        response: { 204: Type.Null(), ...authErrors, 404: Type.Ref('Error') },
      },
    },
    async (request, reply) => {
      if (!(await app.fleet.repos.operators.revoke(request.params.id)))
        throw new DiemcauError('FLEET_ERR_NOT_FOUND', request.params.id);
      app.fleet.events.emit('operator-revoked', { operatorId: request.params.id });
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/audit',
    {
      config: { roles: ['admin'] },
      schema: {
        tags: ['operators'],
        summary: 'The audit log, newest first',
        querystring: Type.Object({
          target: Type.Optional(Type.String()),
          operatorId: Type.Optional(Type.String()),
          before: Type.Optional(Type.Integer()),
          limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
        }),
        response: { 200: ListOf(AuditOut), ...authErrors },
      },
    },
    async (request) => ({ items: await app.fleet.repos.audit.list(request.query) }),
  );
};

import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { DiemcauError } from '@diemcau/shared';
import { newId, newSecret } from '../db/secrets.js';
import { AuditOut, authErrors, ListOf, OperatorOut, OperatorRoleSchema } from './schemas.js';

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
            districtId: Type.Optional(Type.String()),
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Composite([OperatorOut, Type.Object({ token: Type.String() })]), ...authErrors },
      },
    },
    async (request, reply) => {
      const { name, role, districtId } = request.body;
      if (role === 'district-operator') {
        const d = districtId === undefined ? undefined : app.fleet.sites.get(districtId);
        if (!d || d.kind !== 'district') throw new DiemcauError('FLEET_ERR_BAD_REQUEST', 'a district operator needs districtId of a district');
      } else if (districtId !== undefined) {
        throw new DiemcauError('FLEET_ERR_BAD_REQUEST', 'districtId is only for district operators');
      }
      const token = newSecret(32);
      const op = app.fleet.repos.operators.create({ id: newId('op', 6), name, role, districtId: districtId ?? null }, token);
      request.auditTarget = `operator:${op.id}`;
      request.auditDetails = { name, role, districtId: op.districtId };
      return reply.status(201).send({ ...op, token });
    },
  );

  app.get(
    '/operators',
    { config: { roles: ['admin'] }, schema: { tags: ['operators'], summary: 'Operators not revoked (their tokens are never shown again)', response: { 200: ListOf(OperatorOut), ...authErrors } } },
    async () => ({ items: app.fleet.repos.operators.list() }),
  );

  app.delete(
    '/operators/:id',
    {
      config: { roles: ['admin'] },
      schema: {
        tags: ['operators'],
        summary: "Revoke an operator: its token stops working at once",
        params: Type.Object({ id: Type.String() }),
        response: { 204: Type.Null(), ...authErrors, 404: Type.Ref('Error') },
      },
    },
    async (request, reply) => {
      if (!app.fleet.repos.operators.revoke(request.params.id)) throw new DiemcauError('FLEET_ERR_NOT_FOUND', request.params.id);
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
    async (request) => ({ items: app.fleet.repos.audit.list(request.query) }),
  );
};

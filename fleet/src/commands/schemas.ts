// A command as the API answers it, as a TypeBox schema: the routes serialise
// with it and the dashboard reads its static type (api/http-types.ts). No
// fastify or Node import here, so the browser's typecheck can follow it.
import { Type } from '@sinclair/typebox';
import { CommandResultSchema, CommandTypeSchema } from '@diemcau/shared';
import { COMMAND_STATES } from './lifecycle.js';

export const CommandViewSchema = Type.Object({
  id: Type.String(),
  batchId: Type.Union([Type.String(), Type.Null()]),
  deviceId: Type.String(),
  siteId: Type.String(),
  type: CommandTypeSchema,
  params: Type.Record(Type.String(), Type.Unknown()),
  issuedBy: Type.String(),
  issuedAt: Type.String(),
  expiresAt: Type.String(),
  force: Type.Union([Type.Object({ reason: Type.String() }), Type.Null()]),
  status: Type.Union(COMMAND_STATES.map((s) => Type.Literal(s))),
  attempts: Type.Integer(),
  lastSentAt: Type.Union([Type.String(), Type.Null()]),
  deliveredAt: Type.Union([Type.String(), Type.Null()]),
  completedAt: Type.Union([Type.String(), Type.Null()]),
  result: Type.Union([CommandResultSchema, Type.Null()]),
});

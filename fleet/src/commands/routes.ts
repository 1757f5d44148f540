import type {} from '@fastify/swagger'; // adds tags/summary to route schemas
import type { FastifyInstance, FastifyRequest } from 'fastify';
import '../api/types.js';
import { Type, type Static } from '@sinclair/typebox';
import { CommandTypeSchema } from '@diemcau/shared';
import type { CommandRecord } from './lifecycle.js';
import type { Operator } from './planner.js';
import { CommandViewSchema } from './schemas.js';
import type { CommandService } from './service.js';

// HTTP face of the commands module, registered under /api/v1. Auth happens
// before these handlers run; `operatorOf` reads what the auth layer attached.
// The spine's onResponse hook writes the request's audit entry; the handlers
// add which commands it created so that entry names them.

export const MAX_TTL_SEC = 7 * 24 * 3600;

export const CommandRequestSchema = Type.Object(
  {
    type: CommandTypeSchema,
    params: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    /** Seconds until the command expires undelivered; defaults to the fleet's setting. */
    ttlSec: Type.Optional(Type.Integer({ minimum: 10, maximum: MAX_TTL_SEC })),
    force: Type.Optional(
      Type.Object({ reason: Type.String({ minLength: 3, maxLength: 500 }) }, { additionalProperties: false }),
    ),
  },
  { additionalProperties: false },
);
export type CommandRequest = Static<typeof CommandRequestSchema>;

const BatchSchema = Type.Object({
  batchId: Type.String(),
  siteId: Type.String(),
  type: CommandTypeSchema,
  items: Type.Array(
    Type.Object({ commandId: Type.String(), deviceId: Type.String(), siteId: Type.String(), status: Type.String() }),
  ),
});

const ErrorSchema = Type.Object({
  code: Type.String(),
  message: Type.String(),
  details: Type.Optional(Type.Unknown()),
});
const errors = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema };

const view = (r: CommandRecord) => r;

export interface CommandRoutesOptions {
  service: CommandService;
  operatorOf: (req: FastifyRequest) => Operator;
  defaultTtlSec: number;
}

export async function commandRoutes(app: FastifyInstance, opts: CommandRoutesOptions): Promise<void> {
  const { service, operatorOf } = opts;
  const toRequest = (body: CommandRequest) => ({
    type: body.type,
    params: body.params ?? {},
    ttlSec: body.ttlSec ?? opts.defaultTtlSec,
    force: body.force ?? null,
  });

  app.post<{ Params: { id: string }; Body: CommandRequest }>(
    '/devices/:id/commands',
    {
      schema: {
        tags: ['commands'],
        summary: 'Send a command to one device (queued while it is offline)',
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        body: CommandRequestSchema,
        response: { 202: CommandViewSchema, ...errors },
      },
    },
    async (req, reply) => {
      const out = await service.issue(
        operatorOf(req),
        { kind: 'device', deviceId: req.params.id },
        toRequest(req.body),
      );
      req.auditDetails = {
        type: req.body.type,
        commandIds: out.commands.map((c) => c.id),
        ...(req.body.force ? { forceReason: req.body.force.reason } : {}),
      };
      return reply.code(202).send(view(out.commands[0]!));
    },
  );

  app.post<{ Params: { id: string }; Body: CommandRequest }>(
    '/sites/:id/commands',
    {
      schema: {
        tags: ['commands'],
        summary: 'Send a command to every device on a site and below it (one district: its communes too)',
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        body: CommandRequestSchema,
        response: { 202: BatchSchema, ...errors },
      },
    },
    async (req, reply) => {
      const out = await service.issue(operatorOf(req), { kind: 'site', siteId: req.params.id }, toRequest(req.body));
      req.auditDetails = {
        type: req.body.type,
        batchId: out.batchId,
        devices: out.commands.length,
        ...(req.body.force ? { forceReason: req.body.force.reason } : {}),
      };
      return reply.code(202).send({
        batchId: out.batchId!,
        siteId: req.params.id,
        type: req.body.type,
        items: out.commands.map((c) => ({ commandId: c.id, deviceId: c.deviceId, siteId: c.siteId, status: c.status })),
      });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/commands/:id',
    {
      schema: {
        tags: ['commands'],
        summary: "One command with its delivery state and the device's result",
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        response: { 200: CommandViewSchema, ...errors },
      },
    },
    async (req) => view(await service.get(operatorOf(req), req.params.id)),
  );

  app.get<{ Params: { id: string } }>(
    '/command-batches/:id',
    {
      schema: {
        tags: ['commands'],
        summary: 'The commands of one subtree fan-out',
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        response: { 200: Type.Object({ items: Type.Array(CommandViewSchema) }), ...errors },
      },
    },
    async (req) => ({ items: (await service.listBatch(operatorOf(req), req.params.id)).map(view) }),
  );

  app.get<{ Params: { id: string }; Querystring: { limit?: number } }>(
    '/devices/:id/commands',
    {
      schema: {
        tags: ['commands'],
        summary: 'Recent commands of one device, newest first',
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })) }),
        response: { 200: Type.Object({ items: Type.Array(CommandViewSchema) }), ...errors },
      },
    },
    async (req) => ({
      items: (await service.listForDevice(operatorOf(req), req.params.id, req.query.limit ?? 50)).map(view),
    }),
  );
}

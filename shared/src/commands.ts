import { Type, type Static } from '@sinclair/typebox';
import { codec } from './codec.js';

export const COMMAND_TYPES = [
  'reboot',
  'restart-agent',
  'restart-media',
  'identify',
  'self-test',
  'set-config',
] as const;
export type CommandType = (typeof COMMAND_TYPES)[number];
export const CommandTypeSchema = Type.Union(COMMAND_TYPES.map((t) => Type.Literal(t)));

/**
 * Fleet → device. Delivered at least once (QoS 1, re-sent on reconnect until a
 * result arrives); the device runs each id at most once and answers again with
 * the stored result on a duplicate.
 */
export const CommandSchema = Type.Object({
  v: Type.Literal(1),
  id: Type.String({ minLength: 1, maxLength: 64 }),
  type: CommandTypeSchema,
  params: Type.Record(Type.String(), Type.Unknown()),
  issuedAt: Type.String({ format: 'date-time' }),
  expiresAt: Type.String({ format: 'date-time' }),
  /** Set when an operator overrides a safety refusal (e.g. reboot during a meeting). */
  force: Type.Optional(Type.Object({ reason: Type.String({ minLength: 3, maxLength: 500 }) })),
});
export type Command = Static<typeof CommandSchema>;
export const commandCodec = codec(CommandSchema);

export const CommandStatusSchema = Type.Union([
  Type.Literal('succeeded'),
  Type.Literal('failed'),
  Type.Literal('rejected'), // refused by the device (unsafe now, bad params)
  Type.Literal('expired'), // arrived after expiresAt
]);
export type CommandStatus = Static<typeof CommandStatusSchema>;

/** Device → fleet. */
export const CommandResultSchema = Type.Object({
  v: Type.Literal(1),
  commandId: Type.String({ minLength: 1, maxLength: 64 }),
  status: CommandStatusSchema,
  at: Type.String({ format: 'date-time' }),
  output: Type.Optional(Type.Unknown()),
  error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
});
export type CommandResult = Static<typeof CommandResultSchema>;
export const commandResultCodec = codec(CommandResultSchema);

/**
 * Params of 'set-config': the settings the fleet may change at run time. The
 * fleet checks them before queueing, the device again before applying.
 */
export const SetConfigParamsSchema = Type.Object(
  {
    telemetryIntervalSec: Type.Optional(Type.Integer({ minimum: 1, maximum: 3600 })),
    logLevel: Type.Optional(
      Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l))),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type SetConfigParams = Static<typeof SetConfigParamsSchema>;
export const setConfigParamsCodec = codec(SetConfigParamsSchema);

import { Type, type Static } from '@sinclair/typebox';
import { codec } from './codec.js';

export const PeripheralStateSchema = Type.Union([
  Type.Literal('ok'),
  Type.Literal('missing'),
  Type.Literal('fault'),
  Type.Literal('unknown'),
]);
export type PeripheralState = Static<typeof PeripheralStateSchema>;

export const PeripheralsSchema = Type.Object({
  camera: PeripheralStateSchema,
  microphone: PeripheralStateSchema,
  display: PeripheralStateSchema,
  gpio: PeripheralStateSchema,
});
export type Peripherals = Static<typeof PeripheralsSchema>;

/** Retained on the presence topic: the birth when connected, the will when gone. */
export const PresenceSchema = Type.Object({
  v: Type.Literal(1),
  state: Type.Union([Type.Literal('online'), Type.Literal('offline')]),
  at: Type.String({ format: 'date-time' }),
  agentVersion: Type.Optional(Type.String({ maxLength: 64 })),
  os: Type.Optional(Type.String({ maxLength: 200 })),
  hardware: Type.Optional(Type.Union([Type.Literal('real'), Type.Literal('simulated')])),
  peripherals: Type.Optional(PeripheralsSchema),
  /** Base URL of the box's media edge signalling API (see media.ts), when it runs one. */
  mediaUrl: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
});
export type Presence = Static<typeof PresenceSchema>;
export const presenceCodec = codec(PresenceSchema);

import { Type, type Static } from '@sinclair/typebox';
import { SiteIdSchema } from './sites.js';
import { FleetTrustSchema } from './fleet-move.js';

export const HardwareInfoSchema = Type.Object({
  serial: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  model: Type.Optional(Type.String({ maxLength: 200 })),
  os: Type.Optional(Type.String({ maxLength: 200 })),
  agentVersion: Type.Optional(Type.String({ maxLength: 64 })),
});

/** A box asks to join: with a token minted for its site, or by a pre-registered serial. */
export const EnrolRequestSchema = Type.Object({
  token: Type.Optional(Type.String({ minLength: 8, maxLength: 256 })),
  hardware: HardwareInfoSchema,
});
export type EnrolRequest = Static<typeof EnrolRequestSchema>;

export const EnrolResponseSchema = Type.Object({
  deviceId: Type.String(),
  siteId: SiteIdSchema,
  siteName: Type.String(),
  mqtt: Type.Object({
    url: Type.String(),
    username: Type.String(),
    password: Type.String(),
    /**
     * Every broker of a fleet that runs as several nodes, `url` first. The
     * box fails over between them with jittered backoff; absent on a single
     * node (and from fleets that predate it).
     */
    urls: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 2048 }), { minItems: 1, maxItems: 16 })),
  }),
  /**
   * The fleet's public key: the box follows a move to another fleet only if
   * this key signed it (fleet-move.ts). Absent from fleets that predate it.
   */
  trust: Type.Optional(FleetTrustSchema),
});
export type EnrolResponse = Static<typeof EnrolResponseSchema>;

export const EnrolmentTokenResponseSchema = Type.Object({
  token: Type.String(),
  expiresAt: Type.String({ format: 'date-time' }),
});

import { Type, type Static } from '@sinclair/typebox';
import { codec } from './codec.js';
import { SiteIdSchema } from './sites.js';

/**
 * What a fresh box needs to find its way onto the network: written by the
 * provisioning CLI to a USB stick (or /boot, /etc), or given by environment.
 * With a token the box joins the token's site; without one it enrols by its
 * hardware serial, which an operator pre-registered.
 */
export const BootstrapSchema = Type.Object({
  v: Type.Literal(1),
  fleetUrl: Type.String({ pattern: '^https?://', maxLength: 500 }),
  token: Type.Optional(Type.String({ minLength: 8, maxLength: 256 })),
  siteId: Type.Optional(SiteIdSchema),
  siteName: Type.Optional(Type.String({ maxLength: 200 })),
  /** PEM of the CA that signed the fleet's certificate, for an HTTPS/MQTTS fleet. */
  caCert: Type.Optional(Type.String({ maxLength: 20_000 })),
});
export type Bootstrap = Static<typeof BootstrapSchema>;
export const bootstrapCodec = codec(BootstrapSchema);

/** The file name the agent looks for on a USB stick, under /boot and under /etc/diemcau. */
export const BOOTSTRAP_FILE_NAME = 'diemcau-bootstrap.json';

/**
 * The fleet pinned in a box's image (written by the image build, read-only on
 * the box): every bootstrap the box finds must name one of these fleets
 * (compared by origin: scheme, host and port) and, when a CA is pinned, use
 * HTTPS and carry that CA or none. Give at least one of the two.
 */
export const FleetPinSchema = Type.Object({
  v: Type.Literal(1),
  fleetUrls: Type.Optional(
    Type.Array(Type.String({ pattern: '^https?://', maxLength: 500 }), { minItems: 1, maxItems: 16 }),
  ),
  /** PEM of the province CA that signs the fleet's certificate. */
  caCert: Type.Optional(Type.String({ minLength: 1, maxLength: 20_000 })),
});
export type FleetPin = Static<typeof FleetPinSchema>;
export const fleetPinCodec = codec(FleetPinSchema);

/** Where the image keeps its pin, under /etc/diemcau. */
export const FLEET_PIN_FILE_NAME = 'fleet-pin.json';

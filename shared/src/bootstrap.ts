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

// Operating system updates: Debian's security updates (the kernel, Chromium,
// OpenSSL) applied with the box's own apt from the province's package mirror.
// An OS rollout's target is a pinned mirror snapshot: a path on the mirror
// whose contents never change once published (aptly, reprepro or
// debmirror publish one per day), so every ring installs exactly the
// package set the first ring tested. The fleet retains the desired snapshot
// on the box's 'desired-os' channel (its own channel: the retained 'desired'
// message belongs to agent releases); the box reports on 'os'.
import { Type, type Static } from '@sinclair/typebox';
import { codec } from './codec.js';

/** A snapshot's name as the mirror publishes it (e.g. 20261203T0300Z). */
export const OsSnapshotSchema = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' });

/**
 * One apt source line of the snapshot: `deb <uri> <suite> <components…>`.
 * apt checks the snapshot's signature with the keyrings on the box (Debian's
 * archive keys, the province's mirror key); the fleet names no key.
 */
export const AptSourceSchema = Type.Object(
  {
    uri: Type.String({ pattern: '^https?://[^\\s\\[\\]]+$', maxLength: 500 }),
    suite: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$' }),
    components: Type.Array(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' }), {
      minItems: 1,
      maxItems: 8,
    }),
  },
  { additionalProperties: false },
);
export type AptSource = Static<typeof AptSourceSchema>;

/** What an OS rollout installs: the snapshot and where the mirror serves it. */
export const OsTargetSchema = Type.Object(
  {
    snapshot: OsSnapshotSchema,
    sources: Type.Array(AptSourceSchema, { minItems: 1, maxItems: 8 }),
  },
  { additionalProperties: false },
);
export type OsTarget = Static<typeof OsTargetSchema>;

/** Fleet → device, retained on 'desired-os'; `update: null` withdraws it (an aborted rollout). */
export const DesiredOsSchema = Type.Object({
  v: Type.Literal(1),
  update: Type.Union([
    Type.Object({
      snapshot: OsSnapshotSchema,
      sources: Type.Array(AptSourceSchema, { minItems: 1, maxItems: 8 }),
      rolloutId: Type.Optional(Type.String({ maxLength: 64 })),
    }),
    Type.Null(),
  ]),
});
export type DesiredOs = Static<typeof DesiredOsSchema>;
export const desiredOsCodec = codec(DesiredOsSchema);

/**
 * 'held': the box is in a meeting and waits; 'applying': apt runs;
 * 'rebooting': applied, and the box restarts for a new kernel or library
 * (its next report, after the boot, says 'applied'); 'failed': apt failed or
 * the box's health check after the update did not pass.
 */
export const OS_UPDATE_STATES = ['held', 'applying', 'rebooting', 'applied', 'failed'] as const;
export type OsUpdateState = (typeof OS_UPDATE_STATES)[number];

/** One package apt changed: `from` null = newly installed, `to` null = removed. */
export const PackageChangeSchema = Type.Object({
  package: Type.String({ maxLength: 100 }),
  from: Type.Union([Type.String({ maxLength: 128 }), Type.Null()]),
  to: Type.Union([Type.String({ maxLength: 128 }), Type.Null()]),
});
export type PackageChange = Static<typeof PackageChangeSchema>;

/** Device → fleet on 'os'. */
export const OsStatusSchema = Type.Object({
  v: Type.Literal(1),
  at: Type.String({ format: 'date-time' }),
  state: Type.Union(OS_UPDATE_STATES.map((s) => Type.Literal(s))),
  /** The snapshot being worked on. */
  snapshot: OsSnapshotSchema,
  /** The snapshot the box last applied (null: none since it was imaged). */
  current: Type.Union([OsSnapshotSchema, Type.Null()]),
  rolloutId: Type.Optional(Type.String({ maxLength: 64 })),
  /** What apt changed (applied, rebooting); capped: a point release changes a few hundred. */
  changed: Type.Optional(Type.Array(PackageChangeSchema, { maxItems: 1000 })),
  /** The kernel and running libraries need a restart (/run/reboot-required). */
  rebootRequired: Type.Optional(Type.Boolean()),
  error: Type.Optional(
    Type.Object({ code: Type.String({ maxLength: 64 }), message: Type.String({ maxLength: 1000 }) }),
  ),
});
export type OsStatus = Static<typeof OsStatusSchema>;
export const osStatusCodec = codec(OsStatusSchema);

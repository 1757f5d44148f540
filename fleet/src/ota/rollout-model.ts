// A rollout as plain data: what an operator asks for (the spec) and where
// each device stands. Shared by the planner, the store and the routes; the
// schema validates API bodies, the types are what the planner reads.
import { Type, type Static } from '@sinclair/typebox';
import { OsTargetSchema, SiteIdSchema, VersionSchema } from '@diemcau/shared';

export const RingSelectorSchema = Type.Union([
  /** Named sites (e.g. pilot communes near the province). */
  Type.Object(
    { kind: Type.Literal('sites'), siteIds: Type.Array(SiteIdSchema, { minItems: 1, maxItems: 500 }) },
    { additionalProperties: false },
  ),
  /** Every site behind one relay group's hub (a district centre's box, a regional hub), the hub included. */
  Type.Object({ kind: Type.Literal('relay-group'), groupId: SiteIdSchema }, { additionalProperties: false }),
  /** A site and every site below it, at any depth. */
  Type.Object({ kind: Type.Literal('subtree'), siteId: SiteIdSchema }, { additionalProperties: false }),
  /** Before relay groups: the relay group whose hub (or id) is this site; in the 2022 network, a district and its communes. */
  Type.Object({ kind: Type.Literal('district'), districtId: SiteIdSchema }, { additionalProperties: false }),
  // Branches with `kind` alone come last: the API's validator drops unknown
  // properties while it tries a branch, so one tried early would strip the
  // `districtId` or `groupId` a later branch needs.
  /** The hubs of every relay group: they cache releases for their groups, so they go first. */
  Type.Object({ kind: Type.Literal('relay-hubs') }, { additionalProperties: false }),
  /** Whatever the earlier rings left in the rollout's subtree. */
  Type.Object({ kind: Type.Literal('rest') }, { additionalProperties: false }),
]);
export type RingSelector = Static<typeof RingSelectorSchema>;

export const RingSpecSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 64 }),
    select: RingSelectorSchema,
    /** Devices of this ring updating at the same time. */
    maxInFlight: Type.Integer({ minimum: 1, maximum: 1000, default: 5 }),
  },
  { additionalProperties: false },
);
export type RingSpec = Static<typeof RingSpecSchema>;

/** A daily window in the province's local time ("HH:MM"); end before start wraps past midnight. */
export const WindowSchema = Type.Object(
  {
    start: Type.String({ pattern: '^([01]\\d|2[0-3]):[0-5]\\d$' }),
    end: Type.String({ pattern: '^([01]\\d|2[0-3]):[0-5]\\d$' }),
    /** 0 = Sunday … 6 = Saturday; absent = every day. */
    days: Type.Optional(Type.Array(Type.Integer({ minimum: 0, maximum: 6 }), { minItems: 1, maxItems: 7 })),
  },
  { additionalProperties: false },
);
export type Window = Static<typeof WindowSchema>;

export const RolloutSpecSchema = Type.Object(
  {
    /** An agent release (its version): give this or `os`, not both. */
    release: Type.Optional(VersionSchema),
    /**
     * An operating system update: a pinned snapshot of the province's Debian
     * mirror, applied with apt on each box (os-update.ts in shared). Rings,
     * windows, meetings and abort criteria work as for a release.
     */
    os: Type.Optional(OsTargetSchema),
    /** The subtree of sites the rollout covers (any site's id). Absent = every site. */
    rootSiteId: Type.Optional(SiteIdSchema),
    rings: Type.Array(RingSpecSchema, { minItems: 1, maxItems: 10 }),
    abort: Type.Object(
      {
        /** Stop when failed / finished exceeds this… */
        maxFailureRate: Type.Number({ minimum: 0, maximum: 1, default: 0.2 }),
        /** …over at least this many finished devices (of one ring, or of the whole rollout). */
        minDevices: Type.Integer({ minimum: 1, default: 5 }),
      },
      { additionalProperties: false },
    ),
    /** A device silent this long after being told to update counts as failed. */
    silentTimeoutMin: Type.Integer({ minimum: 1, maximum: 7 * 24 * 60, default: 60 }),
    /** Updates start only inside one of these; none = any time. */
    windows: Type.Array(WindowSchema, { maxItems: 14, default: [] }),
    /** Minutes from UTC of the province's clock (Vietnam: 420). */
    utcOffsetMin: Type.Integer({ minimum: -720, maximum: 840, default: 420 }),
    /** A site with a meeting starting within this many minutes is left alone for now. */
    meetingLeadMin: Type.Integer({ minimum: 0, maximum: 24 * 60, default: 30 }),
    /** Bytes per second each box may use for the download; absent = no limit. */
    bandwidthLimit: Type.Optional(Type.Integer({ minimum: 1024 })),
  },
  { additionalProperties: false },
);
export type RolloutSpec = Static<typeof RolloutSpecSchema>;

export const ROLLOUT_STATES = ['running', 'paused', 'aborted', 'completed'] as const;
export type RolloutState = (typeof ROLLOUT_STATES)[number];

/** What a rollout installs, for logs and the audit: `release 1.2.3` or `OS snapshot 20261203`. */
export const rolloutTarget = (spec: Pick<RolloutSpec, 'release' | 'os'>): string =>
  spec.os ? `OS snapshot ${spec.os.snapshot}` : `release ${spec.release ?? '?'}`;

/** 'skipped': the box runs a newer version than the release (and it is no signed rollback from it); `reason` says so. */
export const DEVICE_STATES = ['pending', 'in-flight', 'succeeded', 'failed', 'skipped'] as const;
export type DeviceRolloutState = (typeof DEVICE_STATES)[number];

export interface RolloutDevice {
  deviceId: string;
  siteId: string;
  ring: number;
  state: DeviceRolloutState;
  /** When the fleet set its desired release (ms). */
  dispatchedAt: number | null;
  /** Last word from it about this release (ms). */
  lastReportAt: number | null;
  /** Why it failed: the device's error, or 'silent'. */
  reason: string | null;
}

export interface RingProgress {
  ring: number;
  name: string;
  total: number;
  pending: number;
  inFlight: number;
  succeeded: number;
  failed: number;
  skipped: number;
}

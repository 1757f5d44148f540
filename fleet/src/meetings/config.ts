// Settings of the meetings area: the `meetings` section of the fleet's tree
// (config.ts), each with its variable beside it; read by main.ts only.
import { Type, type Static } from '@sinclair/typebox';
import { loadSettings, settingsSection } from '@diemcau/shared';

const CapacitySchema = Type.Object({
  maxMeetings: Type.Integer({ minimum: 1 }),
  maxLinks: Type.Integer({ minimum: 0 }),
});

export const MeetingsConfigSchema = settingsSection(
  {
    coreEdgeId: Type.String({
      pattern: '^[A-Za-z0-9_-]{1,64}$',
      default: 'core',
      env: 'DIEMCAU_CORE_EDGE_ID',
      description: "device id the province's core edge uses on the broker",
    }),
    coreSignalUrl: Type.Optional(
      Type.String({
        pattern: '^https?://',
        env: 'DIEMCAU_CORE_SIGNAL_URL',
        description: "the core edge's signalling URL when it does not announce one in a presence birth",
      }),
    ),
    // The core edge on this server reads the same file (DIEMCAU_EDGE_PLAN_FILE):
    // it holds no device credentials on the broker.
    corePlanFile: Type.Optional(
      Type.String({
        minLength: 1,
        env: 'DIEMCAU_CORE_PLAN_FILE',
        description: "file the core's media plan is also written to (atomically), for the core edge on this server",
      }),
    ),
    maxSitesPerMeeting: Type.Integer({
      minimum: 2,
      maximum: 1000,
      default: 210,
      env: 'DIEMCAU_MEETING_MAX_SITES',
      description: 'sites one meeting may join',
    }),
    defaultDurationMin: Type.Integer({
      minimum: 1,
      default: 120,
      env: 'DIEMCAU_MEETING_DEFAULT_DURATION_MIN',
      description: 'length of a meeting scheduled without one',
    }),
    maxDurationMin: Type.Integer({
      minimum: 1,
      default: 24 * 60,
      env: 'DIEMCAU_MEETING_MAX_DURATION_MIN',
      description: 'longest meeting that may be scheduled',
    }),
    planLeadMin: Type.Integer({
      minimum: 0,
      default: 15,
      env: 'DIEMCAU_MEETING_PLAN_LEAD_MIN',
      description: 'edges get a scheduled meeting this long before it starts, to prepare',
    }),
    reconcileIntervalMs: Type.Integer({
      minimum: 100,
      default: 15_000,
      env: 'DIEMCAU_MEETING_RECONCILE_MS',
      description: 'plans are checked again at least this often (state changes, new addresses)',
    }),
    statsStaleMs: Type.Integer({
      minimum: 1000,
      default: 30_000,
      env: 'DIEMCAU_MEDIA_STATS_STALE_MS',
      description: "an edge's media stats older than this are shown as no data",
    }),
    // The core is the province's server; a box is a mini-PC. Links count both
    // directions' pipe transports of one meeting: a district relaying 20
    // communes holds 21. Set from code or a JSON tree, not the environment.
    capacity: Type.Object(
      {
        core: CapacitySchema,
        edge: CapacitySchema,
        overrides: Type.Optional(Type.Record(Type.String(), CapacitySchema)),
      },
      { default: { core: { maxMeetings: 100, maxLinks: 2000 }, edge: { maxMeetings: 16, maxLinks: 64 } } },
    ),
  },
  'meetings and their media plans',
);
export type MeetingsConfig = Static<typeof MeetingsConfigSchema>;

/** The section alone, validated with its defaults (createMeetings, tests); the fleet's tree passes it whole. */
export function meetingsConfig(input: Partial<MeetingsConfig> = {}): MeetingsConfig {
  return loadSettings(MeetingsConfigSchema, { values: structuredClone(input) }, 'FLEET_ERR_CONFIG').settings;
}

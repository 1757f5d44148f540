// Settings of the meetings area, validated once with defaults in the schema
// (the fleet's config passes the ones it has; the rest default).
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { DiemcauError } from '@diemcau/shared';

const CapacitySchema = Type.Object({
  maxMeetings: Type.Integer({ minimum: 1 }),
  maxLinks: Type.Integer({ minimum: 0 }),
});

export const MeetingsConfigSchema = Type.Object({
  /** Device id the province's core edge uses on the broker. */
  coreEdgeId: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', default: 'core' }),
  /** The core's signalling URL when it does not announce one in a presence birth. */
  coreSignalUrl: Type.Optional(Type.String({ pattern: '^https?://' })),
  /**
   * File the core's plan is also written to (atomically) for the core edge
   * on this server, which reads DIEMCAU_EDGE_PLAN_FILE: it holds no device
   * credentials on the broker.
   */
  corePlanFile: Type.Optional(Type.String({ minLength: 1 })),
  maxSitesPerMeeting: Type.Integer({ minimum: 2, maximum: 1000, default: 210 }),
  defaultDurationMin: Type.Integer({ minimum: 1, default: 120 }),
  maxDurationMin: Type.Integer({ minimum: 1, default: 24 * 60 }),
  /** Edges get a scheduled meeting this long before it starts, to prepare. */
  planLeadMin: Type.Integer({ minimum: 0, default: 15 }),
  /** Plans are checked again at least this often (state changes, new addresses). */
  reconcileIntervalMs: Type.Integer({ minimum: 100, default: 15_000 }),
  /** A stats report older than this is shown as no data. */
  statsStaleMs: Type.Integer({ minimum: 1000, default: 30_000 }),
  // The core is the province's server; a box is a mini-PC. Links count both
  // directions' pipe transports of one meeting: a district relaying 20
  // communes holds 21.
  capacity: Type.Object(
    {
      core: CapacitySchema,
      edge: CapacitySchema,
      overrides: Type.Optional(Type.Record(Type.String(), CapacitySchema)),
    },
    { default: { core: { maxMeetings: 100, maxLinks: 2000 }, edge: { maxMeetings: 16, maxLinks: 64 } } },
  ),
});
export type MeetingsConfig = Static<typeof MeetingsConfigSchema>;

export function meetingsConfig(input: Partial<MeetingsConfig> = {}): MeetingsConfig {
  const value = Value.Default(MeetingsConfigSchema, Value.Convert(MeetingsConfigSchema, structuredClone(input)));
  const problems = [...Value.Errors(MeetingsConfigSchema, value)].map((e) => `${e.path}: ${e.message}`);
  if (problems.length > 0) throw new DiemcauError('FLEET_ERR_CONFIG', `meetings: ${problems.join('; ')}`, { details: problems });
  return value as MeetingsConfig;
}

/** Environment variable for each plain setting (capacity overrides come through code). */
export const MEETINGS_ENV = {
  coreEdgeId: 'DIEMCAU_CORE_EDGE_ID',
  coreSignalUrl: 'DIEMCAU_CORE_SIGNAL_URL',
  corePlanFile: 'DIEMCAU_CORE_PLAN_FILE',
  maxSitesPerMeeting: 'DIEMCAU_MEETING_MAX_SITES',
  defaultDurationMin: 'DIEMCAU_MEETING_DEFAULT_DURATION_MIN',
  maxDurationMin: 'DIEMCAU_MEETING_MAX_DURATION_MIN',
  planLeadMin: 'DIEMCAU_MEETING_PLAN_LEAD_MIN',
  reconcileIntervalMs: 'DIEMCAU_MEETING_RECONCILE_MS',
  statsStaleMs: 'DIEMCAU_MEDIA_STATS_STALE_MS',
} as const satisfies Partial<Record<keyof MeetingsConfig, string>>;

/** The settings present in `env` (strings; meetingsConfig converts them). */
export function meetingsConfigFromEnv(env: NodeJS.ProcessEnv): Partial<MeetingsConfig> {
  const out: Record<string, string> = {};
  for (const [key, name] of Object.entries(MEETINGS_ENV)) {
    const v = env[name];
    if (v !== undefined && v !== '') out[key] = v;
  }
  return out as Partial<MeetingsConfig>;
}

import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { DiemcauError } from '@diemcau/shared';

// The fleet's whole configuration, validated once at start. Defaults live in
// the schema so that the docs (README table) and the code cannot disagree.
const Port = (def: number) => Type.Integer({ minimum: 0, maximum: 65535, default: def });
const Ms = (def: number, description: string) => Type.Integer({ minimum: 0, default: def, description });

export const FleetConfigSchema = Type.Object({
  httpPort: Port(8080),
  mqttPort: Port(1883),
  host: Type.String({ minLength: 1, default: '0.0.0.0' }),
  dataDir: Type.String({ minLength: 1, default: './data' }),
  /** File name of the registry inside dataDir, or ':memory:' (not for production). */
  dbFile: Type.String({ minLength: 1, default: 'fleet.sqlite' }),
  adminToken: Type.Optional(Type.String({ minLength: 16, maxLength: 256 })),
  webhookUrl: Type.Optional(Type.String({ pattern: '^https?://' })),
  /** What enrolled devices are told to connect to; derived from the request's host when unset. */
  publicMqttUrl: Type.Optional(Type.String({ pattern: '^(mqtts?|wss?|tcp|ssl)://' })),
  logLevel: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info' },
  ),
  /** Largest MQTT packet a client may send; bigger ones close the connection. */
  maxPacketBytes: Type.Integer({ minimum: 1024, default: 256 * 1024 + 1024 }),
  /** Samples kept per device; older ones are pruned. */
  telemetryKeep: Type.Integer({ minimum: 1, default: 2000 }),
  telemetryFlushMs: Ms(200, 'telemetry batch flush interval'),
  enrollmentTokenTtlSec: Type.Integer({ minimum: 60, default: 7 * 24 * 3600 }),
  /** Failed enrolments (bad token or serial) allowed per client address per minute; 0 = no limit. */
  enrollMaxFailuresPerMin: Type.Integer({ minimum: 0, default: 20 }),
  // Alert rules (see presence/rules.ts for what each does).
  offlineDebounceMs: Ms(300, 'offline shorter than this opens no alert'),
  flapWindowMs: Ms(5 * 60_000, 'window in which transitions are counted for flapping'),
  flapThreshold: Type.Integer({ minimum: 2, default: 6 }),
  districtWindowMs: Ms(30_000, 'drops within this window are correlated per district'),
  districtFraction: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 0.6 }),
  districtMinDevices: Type.Integer({ minimum: 2, default: 3 }),
  /** After a fleet restart, devices that were online get this long to reconnect before alerts. */
  startupGraceMs: Ms(30_000, 'reconnect grace after a fleet restart'),
  webhookMaxAttempts: Type.Integer({ minimum: 1, default: 8 }),
  webhookBaseDelayMs: Ms(500, 'first webhook retry delay, doubled per attempt'),
});
export type FleetConfig = Static<typeof FleetConfigSchema>;

/** Environment variable for each setting. Every host path can be overridden here. */
export const ENV_NAMES: Record<keyof FleetConfig, string> = {
  httpPort: 'DIEMCAU_HTTP_PORT',
  mqttPort: 'DIEMCAU_MQTT_PORT',
  host: 'DIEMCAU_HOST',
  dataDir: 'DIEMCAU_DATA_DIR',
  dbFile: 'DIEMCAU_DB_FILE',
  adminToken: 'DIEMCAU_ADMIN_TOKEN',
  webhookUrl: 'DIEMCAU_WEBHOOK_URL',
  publicMqttUrl: 'DIEMCAU_PUBLIC_MQTT_URL',
  logLevel: 'DIEMCAU_LOG_LEVEL',
  maxPacketBytes: 'DIEMCAU_MAX_PACKET_BYTES',
  telemetryKeep: 'DIEMCAU_TELEMETRY_KEEP',
  telemetryFlushMs: 'DIEMCAU_TELEMETRY_FLUSH_MS',
  enrollmentTokenTtlSec: 'DIEMCAU_ENROLLMENT_TOKEN_TTL_SEC',
  enrollMaxFailuresPerMin: 'DIEMCAU_ENROLL_MAX_FAILURES_PER_MIN',
  offlineDebounceMs: 'DIEMCAU_OFFLINE_DEBOUNCE_MS',
  flapWindowMs: 'DIEMCAU_FLAP_WINDOW_MS',
  flapThreshold: 'DIEMCAU_FLAP_THRESHOLD',
  districtWindowMs: 'DIEMCAU_DISTRICT_WINDOW_MS',
  districtFraction: 'DIEMCAU_DISTRICT_FRACTION',
  districtMinDevices: 'DIEMCAU_DISTRICT_MIN_DEVICES',
  startupGraceMs: 'DIEMCAU_STARTUP_GRACE_MS',
  webhookMaxAttempts: 'DIEMCAU_WEBHOOK_MAX_ATTEMPTS',
  webhookBaseDelayMs: 'DIEMCAU_WEBHOOK_BASE_DELAY_MS',
};

/** Reads the settings present in `env`; empty strings count as unset. */
export function configFromEnv(env: NodeJS.ProcessEnv): Partial<Record<keyof FleetConfig, string>> {
  const out: Partial<Record<keyof FleetConfig, string>> = {};
  for (const [key, name] of Object.entries(ENV_NAMES) as [keyof FleetConfig, string][]) {
    const v = env[name];
    if (v !== undefined && v !== '') out[key] = v;
  }
  return out;
}

/**
 * Validates once, with defaults filled in and env strings converted to numbers.
 * Throws FLEET_ERR_CONFIG listing every problem, not just the first.
 */
export function loadConfig(input: Partial<Record<keyof FleetConfig, unknown>> = {}): FleetConfig {
  const value = Value.Default(FleetConfigSchema, Value.Convert(FleetConfigSchema, { ...input }));
  const unknownKeys = Object.keys(input).filter((k) => !(k in ENV_NAMES));
  const problems = [...Value.Errors(FleetConfigSchema, value)].map((e) => {
    const key = e.path.replace(/^\//, '') as keyof FleetConfig;
    const env = ENV_NAMES[key];
    return `${key}${env ? ` (${env})` : ''}: ${e.message}, got ${JSON.stringify(e.value)}`;
  });
  problems.push(...unknownKeys.map((k) => `${k}: unknown setting`));
  if (problems.length > 0) {
    throw new DiemcauError('FLEET_ERR_CONFIG', problems.join('; '), { details: problems });
  }
  return value as FleetConfig;
}

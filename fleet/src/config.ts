import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { loadSettings, settingsMarkdown, type Env, type LoadedSettings } from '@diemcau/shared';
import { MeetingsConfigSchema } from './meetings/config.js';
import { OtaConfigSchema } from './ota/config.js';
import { ReadinessConfigSchema } from './readiness/config.js';
import { UiConfigSchema } from './ui/config.js';

// The fleet's whole settings tree, validated once at start by main.ts, the
// only reader of the environment; plugins get their section (meetings, ota,
// ui) from app.fleet.config. Defaults live in the schema so that the docs
// (README table, `npm run docs:settings`) and the code cannot disagree.
const D = (description: string) => ({ description });
const Port = (def: number, description: string) =>
  Type.Integer({ minimum: 0, maximum: 65535, default: def, description });
const Ms = (def: number, description: string) => Type.Integer({ minimum: 0, default: def, description });

const TOP_LEVEL = {
  httpPort: Port(8080, 'HTTP API, dashboard and /docs (0 = any free port)'),
  mqttPort: Port(1883, 'embedded MQTT broker (0 = any free port)'),
  host: Type.String({ minLength: 1, default: '0.0.0.0', ...D('address both servers listen on') }),
  dataDir: Type.String({ minLength: 1, default: './data', ...D('where the registry (SQLite) and other state live') }),
  dataset: Type.String({
    minLength: 1,
    default: 'yen-bai-2022',
    ...D(
      'hierarchy dataset an empty registry is seeded from: yen-bai-2022, yen-bai-two-tier or a JSON file (fleet/datasets/README.md)',
    ),
  }),
  dbFile: Type.String({
    minLength: 1,
    default: 'fleet.sqlite',
    ...D("registry file name inside the data dir (':memory:' for throwaway runs)"),
  }),
  databaseUrl: Type.Optional(
    Type.String({
      pattern: '^postgres(ql)?://',
      ...D(
        'PostgreSQL as the registry (cluster mode), e.g. postgres://fleet@db:5432/diemcau; unset: the embedded SQLite file',
      ),
    }),
  ),
  databasePoolSize: Type.Integer({
    minimum: 1,
    maximum: 200,
    default: 10,
    ...D('PostgreSQL connections per fleet node'),
  }),
  pgToolsDir: Type.Optional(
    Type.String({
      minLength: 1,
      ...D(
        "backup and restore of a PostgreSQL registry: the folder with pg_dump and pg_restore (of the server's major version or later); unset: the PATH, then /usr/lib/postgresql/15/bin",
      ),
    }),
  ),
  adminToken: Type.Optional(
    Type.String({
      minLength: 16,
      maxLength: 256,
      ...D('an admin bearer token that always works; unset: one is generated on first start and printed once'),
    }),
  ),
  webhookUrl: Type.Optional(
    Type.String({ pattern: '^https?://', ...D('alert changes are POSTed here as JSON, retried with backoff') }),
  ),
  publicMqttUrl: Type.Optional(
    Type.String({
      pattern: '^(mqtts?|wss?|tcp|ssl)://',
      ...D('broker URL told to enrolled boxes; unset: the host they reached the API by, and the MQTT port'),
    }),
  ),
  publicMqttUrls: Type.Optional(
    Type.String({
      pattern: '^(mqtts?|wss?|tcp|ssl)://[^,\\s]+(,(mqtts?|wss?|tcp|ssl)://[^,\\s]+)*$',
      ...D(
        "cluster: every node's broker URL, comma-separated (the same on every node), told to boxes at enrolment and, for boxes enrolled before, announced by each node at start (retained, heard on every connect); a box stores it and fails over between them (first: publicMqttUrl, or the one it enrolled by)",
      ),
    }),
  ),
  // Cluster (fleet/src/cluster/): unset redisUrl is the embedded single node.
  redisUrl: Type.Optional(
    Type.String({
      pattern: '^rediss?://',
      ...D(
        'cluster: the Redis (a database of its own) that joins the brokers, carries presence, leadership and the live feed between nodes; unset: one embedded node',
      ),
    }),
  ),
  nodeId: Type.Optional(
    Type.String({
      pattern: '^[A-Za-z0-9._-]{1,64}$',
      ...D("cluster: this node's name (unset: host name and process id); each start is told apart by a suffix"),
    }),
  ),
  clusterHeartbeatMs: Type.Integer({
    minimum: 100,
    default: 1000,
    ...D('cluster: how often each node says it is alive'),
  }),
  clusterNodeTimeoutMs: Type.Integer({
    minimum: 500,
    default: 5000,
    ...D('cluster: a node silent this long is dead: its sessions end and a fleet-node-down alert opens'),
  }),
  clusterLeftGraceMs: Type.Integer({
    minimum: 0,
    default: 120_000,
    ...D(
      'cluster: boxes of a node that stopped gracefully (a rolling restart, an upgrade) get this long to reconnect to the other nodes before alerts (a node that dies gives its boxes DIEMCAU_STARTUP_GRACE_MS)',
    ),
  }),
  clusterNodeStartTimeoutMs: Type.Integer({
    minimum: 500,
    default: 60000,
    ...D(
      'cluster: the same for a node that is still starting (building its API can hold its event loop for seconds on a busy machine)',
    ),
  }),
  leaderLeaseMs: Type.Integer({
    minimum: 500,
    default: 5000,
    ...D(
      'cluster: the leader lease (renewed at a third of it); another node takes over within this long after the leader dies',
    ),
  }),
  logLevel: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info', ...D('pino log level') },
  ),
  maxPacketBytes: Type.Integer({
    minimum: 1024,
    default: 256 * 1024 + 1024,
    ...D('largest MQTT packet accepted; a bigger one closes the connection'),
  }),
  telemetryKeep: Type.Integer({ minimum: 1, default: 2000, ...D('telemetry samples kept per device') }),
  telemetryFlushMs: Ms(200, 'telemetry is written in one transaction per this interval'),
  enrollmentTokenTtlSec: Type.Integer({
    minimum: 60,
    default: 7 * 24 * 3600,
    ...D('default lifetime of an enrolment token'),
  }),
  preregistrationTtlSec: Type.Integer({
    minimum: 60,
    default: 30 * 24 * 3600,
    ...D(
      'default time a pre-registered serial stays armed (the serial is printed on the box: whoever knows it may enrol in its place meanwhile)',
    ),
  }),
  enrollMaxFailuresPerMin: Type.Integer({
    minimum: 0,
    default: 20,
    ...D('failed enrolments allowed per client address per minute (0 = no limit)'),
  }),
  metricsPublic: Type.Boolean({
    default: false,
    ...D(
      'serve /metrics without a token (for a scraper on a trusted network); otherwise any operator token, a viewer token will do',
    ),
  }),
  // Alert rules (presence/planner.ts says what each does).
  offlineDebounceMs: Ms(300, 'an offline shorter than this opens no alert'),
  flapWindowMs: Ms(5 * 60_000, 'transitions are counted over this window for flapping'),
  flapThreshold: Type.Integer({
    minimum: 2,
    default: 6,
    ...D('transitions in the window that make a device flapping'),
  }),
  districtWindowMs: Ms(
    30_000,
    'drops within this window are correlated per relay group (a district centre, a regional hub)',
  ),
  districtFraction: Type.Number({
    exclusiveMinimum: 0,
    maximum: 1,
    default: 0.6,
    ...D("share of a relay group's devices that must drop for one outage incident"),
  }),
  districtMinDevices: Type.Integer({ minimum: 2, default: 3, ...D('and never fewer devices than this') }),
  startupGraceMs: Ms(
    30_000,
    'after a fleet restart, or the death of the cluster node they were on, boxes get this long to reconnect before alerts; those still missing then are one fleet-reconnect incident (from DIEMCAU_DISTRICT_MIN_DEVICES boxes on)',
  ),
  meetingAlertLeadMin: Type.Integer({
    minimum: 0,
    default: 60,
    ...D("a site's alerts turn critical this many minutes before its meeting starts, and while it is live"),
  }),
  webhookMaxAttempts: Type.Integer({ minimum: 1, default: 8, ...D('webhook attempts per notification') }),
  webhookBaseDelayMs: Ms(500, 'first webhook retry delay, doubled per attempt'),
  // With cert and key set, MQTT is served over TLS and the API over HTTPS, and nothing in plain text.
  tlsCert: Type.Optional(
    Type.String({
      minLength: 1,
      ...D('PEM certificate (chain) of the fleet; with the key: MQTT over TLS and HTTPS only'),
    }),
  ),
  tlsKey: Type.Optional(Type.String({ minLength: 1, ...D('PEM private key of tlsCert') })),
  tlsCa: Type.Optional(
    Type.String({
      minLength: 1,
      ...D('extra CA certificates (PEM) for the TLS servers, e.g. the intermediate that signed the certificate'),
    }),
  ),
  provinceCaFile: Type.Optional(
    Type.String({
      minLength: 1,
      ...D(
        "the province CA's certificate (PEM; never its key) that issued the edges' certificates: served at /ca, /ca.crt and /ca.pem for phones and tablets to install before they open a join link",
      ),
    }),
  ),
  // Limits per peer on the broker (broker/limits.ts, broker/login-throttle.ts). Sized for a NAT with a
  // district's boxes behind one address; benchmarks that connect thousands of boxes from 127.0.0.1 set them.
  mqttMaxFailuresPerMin: Type.Integer({
    minimum: 0,
    default: 30,
    ...D(
      'refused MQTT logins per client address and device id per minute before they are no longer logged one by one (a password that verifies is never refused); 0 = log every one',
    ),
  }),
  mqttMaxFailedIdsPerAddress: Type.Integer({
    minimum: 0,
    default: 100,
    ...D(
      'different real devices refusing wrong passwords from one address in a minute before that address is cut at accept (made-up ids never count), unless a box logged in from it in that minute; 0 = never',
    ),
  }),
  mqttMaxConnectionsPerAddress: Type.Integer({
    minimum: 0,
    default: 1024,
    ...D('open MQTT connections per client address (a NAT with many boxes counts as one); 0 = no cap'),
  }),
  mqttConnectTimeoutMs: Type.Integer({
    minimum: 100,
    default: 10_000,
    ...D('a connection that sends no CONNECT (or TLS handshake) within this time is closed'),
  }),
  mqttMaxRetainedBytes: Type.Integer({
    minimum: 256,
    maximum: 256 * 1024,
    default: 8192,
    ...D('largest retained message a device may leave (its presence, the only topic it may retain on)'),
  }),
  mqttSlowAfterRefusalsPerSec: Type.Integer({
    minimum: 0,
    default: 20,
    ...D(
      'refused MQTT logins per second from one address past which its new connections are served a second late (nobody is refused for it); 0 = never',
    ),
  }),
  devicePasswordHash: Type.Union([Type.Literal('sha256'), Type.Literal('scrypt')], {
    default: 'sha256',
    ...D(
      "how devices' passwords are stored: sha256 (192 random bits need no work factor, and 10,000 boxes log in at once after a restart), or scrypt, the form releases before 2026-12 know; each box's hash is stored in this form at its next login. Set scrypt before going back to such a release, and on every node of a cluster while some still run one",
    ),
  }),
  mqttMaxPendingLogins: Type.Integer({
    minimum: 0,
    default: 300,
    ...D(
      'logins under way (CONNECT read, CONNACK not yet sent) at which new ones are refused with \'server unavailable\', so the boxes retry after their backoff instead of waiting past their own timeout while the node works through a storm; 0 = no cap. /metrics shows how many are under way (`diemcau_mqtt_logins_pending`) and how many were refused (`diemcau_mqtt_limits_total{limit="pending-logins"}`)',
    ),
  }),
  mqttMaxLoginsPerDevicePerMin: Type.Integer({
    minimum: 0,
    default: 60,
    ...D(
      "logins per device per minute; past it that device's logins are refused until the minute is over (the agent's backoff stays well below); 0 = no limit",
    ),
  }),
};

/**
 * Environment variable for each top-level setting (the sections carry theirs
 * inline). Every host path can be overridden here; a key without a name does
 * not compile.
 */
export const ENV_NAMES: Record<keyof typeof TOP_LEVEL, string> = {
  httpPort: 'DIEMCAU_HTTP_PORT',
  mqttPort: 'DIEMCAU_MQTT_PORT',
  host: 'DIEMCAU_HOST',
  dataDir: 'DIEMCAU_DATA_DIR',
  dataset: 'DIEMCAU_DATASET',
  dbFile: 'DIEMCAU_DB_FILE',
  databaseUrl: 'DIEMCAU_DATABASE_URL',
  databasePoolSize: 'DIEMCAU_DATABASE_POOL_SIZE',
  pgToolsDir: 'DIEMCAU_PG_TOOLS_DIR',
  adminToken: 'DIEMCAU_ADMIN_TOKEN',
  webhookUrl: 'DIEMCAU_WEBHOOK_URL',
  publicMqttUrl: 'DIEMCAU_PUBLIC_MQTT_URL',
  publicMqttUrls: 'DIEMCAU_PUBLIC_MQTT_URLS',
  redisUrl: 'DIEMCAU_REDIS_URL',
  nodeId: 'DIEMCAU_NODE_ID',
  clusterHeartbeatMs: 'DIEMCAU_CLUSTER_HEARTBEAT_MS',
  clusterNodeTimeoutMs: 'DIEMCAU_CLUSTER_NODE_TIMEOUT_MS',
  clusterNodeStartTimeoutMs: 'DIEMCAU_CLUSTER_NODE_START_TIMEOUT_MS',
  clusterLeftGraceMs: 'DIEMCAU_CLUSTER_LEFT_GRACE_MS',
  leaderLeaseMs: 'DIEMCAU_LEADER_LEASE_MS',
  logLevel: 'DIEMCAU_LOG_LEVEL',
  maxPacketBytes: 'DIEMCAU_MAX_PACKET_BYTES',
  telemetryKeep: 'DIEMCAU_TELEMETRY_KEEP',
  telemetryFlushMs: 'DIEMCAU_TELEMETRY_FLUSH_MS',
  enrollmentTokenTtlSec: 'DIEMCAU_ENROLLMENT_TOKEN_TTL_SEC',
  preregistrationTtlSec: 'DIEMCAU_PREREGISTRATION_TTL_SEC',
  enrollMaxFailuresPerMin: 'DIEMCAU_ENROLL_MAX_FAILURES_PER_MIN',
  metricsPublic: 'DIEMCAU_METRICS_PUBLIC',
  offlineDebounceMs: 'DIEMCAU_OFFLINE_DEBOUNCE_MS',
  flapWindowMs: 'DIEMCAU_FLAP_WINDOW_MS',
  flapThreshold: 'DIEMCAU_FLAP_THRESHOLD',
  districtWindowMs: 'DIEMCAU_DISTRICT_WINDOW_MS',
  districtFraction: 'DIEMCAU_DISTRICT_FRACTION',
  districtMinDevices: 'DIEMCAU_DISTRICT_MIN_DEVICES',
  startupGraceMs: 'DIEMCAU_STARTUP_GRACE_MS',
  meetingAlertLeadMin: 'DIEMCAU_MEETING_ALERT_LEAD_MIN',
  webhookMaxAttempts: 'DIEMCAU_WEBHOOK_MAX_ATTEMPTS',
  webhookBaseDelayMs: 'DIEMCAU_WEBHOOK_BASE_DELAY_MS',
  tlsCert: 'DIEMCAU_TLS_CERT',
  tlsKey: 'DIEMCAU_TLS_KEY',
  tlsCa: 'DIEMCAU_TLS_CA',
  provinceCaFile: 'DIEMCAU_PROVINCE_CA_FILE',
  mqttMaxFailuresPerMin: 'DIEMCAU_MQTT_MAX_FAILURES_PER_MIN',
  mqttMaxFailedIdsPerAddress: 'DIEMCAU_MQTT_MAX_FAILED_IDS_PER_ADDRESS',
  mqttMaxConnectionsPerAddress: 'DIEMCAU_MQTT_MAX_CONNECTIONS_PER_ADDRESS',
  mqttConnectTimeoutMs: 'DIEMCAU_MQTT_CONNECT_TIMEOUT_MS',
  mqttMaxRetainedBytes: 'DIEMCAU_MQTT_MAX_RETAINED_BYTES',
  mqttMaxLoginsPerDevicePerMin: 'DIEMCAU_MQTT_MAX_LOGINS_PER_DEVICE_PER_MIN',
  mqttMaxPendingLogins: 'DIEMCAU_MQTT_MAX_PENDING_LOGINS',
  devicePasswordHash: 'DIEMCAU_DEVICE_PASSWORD_HASH',
  mqttSlowAfterRefusalsPerSec: 'DIEMCAU_MQTT_SLOW_AFTER_REFUSALS_PER_SEC',
};

/** Attaches each top-level setting's variable to its schema, where the loader and the docs read it. */
function withEnv<P extends Record<string, TSchema>>(props: P, names: Record<keyof P, string>): P {
  return Object.fromEntries(
    Object.entries(props).map(([k, schema]) => [k, { ...schema, env: names[k] }]),
  ) as unknown as P;
}

export const FleetConfigSchema = Type.Object({
  ...withEnv(TOP_LEVEL, ENV_NAMES),
  meetings: MeetingsConfigSchema,
  ota: OtaConfigSchema,
  readiness: ReadinessConfigSchema,
  ui: UiConfigSchema,
});
export type FleetConfig = Static<typeof FleetConfigSchema>;

/** What a test or main.ts may give: any top-level setting, sections in part. */
export type FleetConfigInput = Partial<Record<keyof FleetConfig, unknown>>;

/** main.ts: the tree from the environment, with the deprecation warnings to log. Throws FLEET_ERR_CONFIG listing every problem. */
export function loadFleetSettings(env: Env, values: FleetConfigInput = {}): LoadedSettings<FleetConfig> {
  return loadSettings(FleetConfigSchema, { env, values }, 'FLEET_ERR_CONFIG');
}

/**
 * Validates given values (a whole tree from main.ts, or a test's few), with
 * defaults filled in; no environment is read here. Throws FLEET_ERR_CONFIG
 * listing every problem, not just the first.
 */
export function loadConfig(input: FleetConfigInput = {}): FleetConfig {
  return loadSettings(FleetConfigSchema, { values: input }, 'FLEET_ERR_CONFIG').settings;
}

/** The settings as Markdown tables (for the README), from the schema itself. */
export function configTable(): string {
  return settingsMarkdown(FleetConfigSchema);
}

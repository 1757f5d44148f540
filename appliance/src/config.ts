import fs from 'node:fs';
import path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { DiemcauError, loadSettings, settingsMarkdown } from '@diemcau/shared';
import { BootstrapSettingsSchema } from './bootstrap/discover.js';
import { OutletsSettingsSchema } from './commands/outlets.js';
import { DevicesSettingsSchema } from './devices/config.js';
import { EdgeLinkSettingsSchema } from './media/agent-link.js';
import { OtaSettingsSchema } from './ota/config.js';
import { OsSettingsSchema } from './os/config.js';

// The agent's one settings tree, validated once at start by main.ts (the only
// reader of the environment) before enrolment. Sources, later wins: defaults
// (in the schema) < JSON file (--config or DIEMCAU_CONFIG) < environment <
// flags. Every problem is collected and reported at once, so a technician on
// site fixes the unit file in one go instead of one restart per typo. Each
// area's section (devices, edge, ota, bootstrap, outlets) is declared beside
// the code that uses it.

// Flag syntax is the shared loader's; re-exported for the agent's tests.
export { parseFlags } from '@diemcau/shared';

export type HardwareKind = 'real' | 'simulated';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

const Str = (env: string, flag: string, description: string) =>
  Type.Optional(Type.String({ minLength: 1, env, flag, description }));
const Int = (env: string, flag: string, def: number, minimum: number, maximum: number, description: string) =>
  Type.Integer({ minimum, maximum, default: def, env, flag, description });

export const AgentConfigSchema = Type.Object({
  fleetUrl: Type.Optional(
    Type.String({
      pattern: '^https?://',
      env: 'DIEMCAU_FLEET_URL',
      flag: 'fleet-url',
      description: 'the fleet; unset: the bootstrap search (USB stick, `/boot`, `/etc/diemcau`)',
    }),
  ),
  enrollToken: Str(
    'DIEMCAU_ENROLL_TOKEN',
    'enroll-token',
    "enrolment token; unset: enrol by the box's hardware serial",
  ),
  serial: Str('DIEMCAU_SERIAL', 'serial', 'override the DMI serial'),
  mqttUrl: Type.Optional(
    Type.String({
      pattern: '^(mqtts?|wss?)://',
      env: 'DIEMCAU_MQTT_URL',
      flag: 'mqtt-url',
      description: 'override the broker URL the fleet hands out (e.g. behind NAT or a proxy)',
    }),
  ),
  caFile: Str(
    'DIEMCAU_CA_FILE',
    'ca-file',
    "PEM file of the CA that signed the fleet's certificate; overrides the bootstrap's",
  ),
  dataDir: Type.String({
    minLength: 1,
    default: '/var/lib/diemcau',
    env: 'DIEMCAU_DATA_DIR',
    flag: 'data-dir',
    description: 'identity, queue, command store, update journal',
  }),
  hardware: Type.Union([Type.Literal('real'), Type.Literal('simulated')], {
    default: 'real',
    env: 'DIEMCAU_HARDWARE',
    flag: 'hardware',
    description: '`real` or `simulated` camera, microphone, TV, GPIO and reboot',
  }),
  telemetryIntervalSec: Int(
    'DIEMCAU_TELEMETRY_INTERVAL_SEC',
    'telemetry-interval',
    10,
    1,
    3600,
    'telemetry period (also changed remotely by `set-config`)',
  ),
  keepaliveSec: Int(
    'DIEMCAU_KEEPALIVE_SEC',
    'keepalive',
    10,
    2,
    600,
    'MQTT keepalive; silent loss is detected after about 1.5x this',
  ),
  queueMaxRecords: Int(
    'DIEMCAU_QUEUE_MAX_RECORDS',
    'queue-max',
    50_000,
    10,
    10_000_000,
    'on-disk queue bound; the oldest are dropped and counted',
  ),
  // Real boxes fsync (one sample per 10 s costs nothing); simulated fleets of thousands do not.
  queueFsync: Type.Optional(
    Type.Boolean({
      env: 'DIEMCAU_QUEUE_FSYNC',
      flag: 'queue-fsync',
      docDefault: 'on for real hardware',
      description: 'fsync every queued record: survives power loss, not just a process crash',
    }),
  ),
  logLevel: Type.Union(
    LEVELS.map((l) => Type.Literal(l)),
    { default: 'info', env: 'DIEMCAU_LOG_LEVEL', flag: 'log-level', description: 'pino log level' },
  ),
  devices: DevicesSettingsSchema,
  edge: EdgeLinkSettingsSchema,
  ota: OtaSettingsSchema,
  os: OsSettingsSchema,
  bootstrap: BootstrapSettingsSchema,
  outlets: OutletsSettingsSchema,
});

type Tree = Static<typeof AgentConfigSchema>;
/** The agent's settings: paths absolute, URLs without a trailing slash, fsync decided. */
export type AgentConfig = Omit<Tree, 'queueFsync' | 'logLevel'> & { queueFsync: boolean; logLevel: LogLevel };

export interface ConfigSources {
  env?: Record<string, string | undefined>;
  argv?: readonly string[];
  /** Contents of a JSON file, already parsed; keys as in the tree (sections nested). */
  file?: Record<string, unknown>;
}

/**
 * Pure: builds the tree from the given sources or throws APPL_ERR_CONFIG
 * listing every problem; `warnings` name deprecated variables in use.
 */
export function loadAgentSettings(src: ConfigSources): { config: AgentConfig; warnings: string[] } {
  const { settings, warnings } = loadSettings(AgentConfigSchema, { ...src, extraFlags: ['config'] }, 'APPL_ERR_CONFIG');
  const abs = (p: string | undefined): string | undefined => (p === undefined ? undefined : path.resolve(p));
  const config: AgentConfig = {
    ...settings,
    logLevel: settings.logLevel as LogLevel,
    fleetUrl: settings.fleetUrl?.replace(/\/+$/, ''),
    caFile: abs(settings.caFile),
    dataDir: path.resolve(settings.dataDir),
    queueFsync: settings.queueFsync ?? settings.hardware !== 'simulated',
  };
  return { config, warnings };
}

/** The tree alone (tests, the simulator). */
export function loadConfig(src: ConfigSources): AgentConfig {
  return loadAgentSettings(src).config;
}

/** The settings as Markdown tables (for the README), from the schema itself. */
export function agentSettingsTable(): string {
  return settingsMarkdown(AgentConfigSchema);
}

/** The I/O half: finds and reads the optional JSON file, then validates everything. */
export function readConfig(
  env: NodeJS.ProcessEnv,
  argv: readonly string[],
): { config: AgentConfig; warnings: string[] } {
  const i = argv.findIndex((a) => a === '--config' || a.startsWith('--config='));
  const filePath = i === -1 ? env.DIEMCAU_CONFIG : argv[i]!.includes('=') ? argv[i]!.split('=', 2)[1] : argv[i + 1];
  let file: Record<string, unknown> | undefined;
  if (filePath) {
    try {
      const parsed: unknown = JSON.parse(fs.readFileSync(filePath, 'utf8'));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a JSON object');
      file = parsed as Record<string, unknown>;
    } catch (err) {
      throw new DiemcauError('APPL_ERR_CONFIG', `config file ${filePath}: ${(err as Error).message}`, { cause: err });
    }
  }
  return loadAgentSettings({ env, argv, file });
}

/** Where the agent keeps its state; every path derives from the data dir. */
export function dataPaths(dataDir: string): { identity: string; seq: string; queue: string } {
  return {
    identity: path.join(dataDir, 'identity.json'),
    seq: path.join(dataDir, 'telemetry-seq'),
    queue: path.join(dataDir, 'queue'),
  };
}

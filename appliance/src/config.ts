import fs from 'node:fs';
import path from 'node:path';
import { DiemcauError } from '@diemcau/shared';

// The agent's configuration, validated once at start. Sources, later wins:
// defaults (below) < JSON file (--config or DIEMCAU_CONFIG) < environment < flags.
// Every problem is collected and reported at once, so a technician on site fixes
// the unit file in one go instead of one restart per typo.

export type HardwareKind = 'real' | 'simulated';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface AgentConfig {
  /** Where to enrol; when unset, the bootstrap file (USB stick, /boot, /etc/diemcau) says. */
  fleetUrl: string | undefined;
  enrollToken: string | undefined;
  serial: string | undefined;
  /** Overrides the MQTT URL the fleet hands out (e.g. behind NAT or a proxy). */
  mqttUrl: string | undefined;
  /** PEM file of the CA that signed the fleet's certificate; overrides the bootstrap's caCert. */
  caFile: string | undefined;
  dataDir: string;
  hardware: HardwareKind;
  telemetryIntervalSec: number;
  keepaliveSec: number;
  queueMaxRecords: number;
  /** fsync every queue write: survives power loss, not just a process crash. */
  queueFsync: boolean;
  logLevel: LogLevel;
}

type Kind = 'string' | 'url' | 'int' | 'bool' | 'hardware' | 'level' | 'path';

interface Field {
  key: keyof AgentConfig;
  env: string;
  flag: string;
  kind: Kind;
  /** undefined = optional with no default; a function = derived from what is already known. */
  def?: string | number | boolean | ((partial: Partial<AgentConfig>) => string | number | boolean);
  required?: boolean;
  min?: number;
  max?: number;
}

const FIELDS: Field[] = [
  { key: 'fleetUrl', env: 'DIEMCAU_FLEET_URL', flag: 'fleet-url', kind: 'url' },
  { key: 'enrollToken', env: 'DIEMCAU_ENROLL_TOKEN', flag: 'enroll-token', kind: 'string' },
  { key: 'serial', env: 'DIEMCAU_SERIAL', flag: 'serial', kind: 'string' },
  { key: 'mqttUrl', env: 'DIEMCAU_MQTT_URL', flag: 'mqtt-url', kind: 'url' },
  { key: 'caFile', env: 'DIEMCAU_CA_FILE', flag: 'ca-file', kind: 'path' },
  { key: 'dataDir', env: 'DIEMCAU_DATA_DIR', flag: 'data-dir', kind: 'path', def: '/var/lib/diemcau' },
  { key: 'hardware', env: 'DIEMCAU_HARDWARE', flag: 'hardware', kind: 'hardware', def: 'real' },
  { key: 'telemetryIntervalSec', env: 'DIEMCAU_TELEMETRY_INTERVAL_SEC', flag: 'telemetry-interval', kind: 'int', def: 10, min: 1, max: 3600 },
  { key: 'keepaliveSec', env: 'DIEMCAU_KEEPALIVE_SEC', flag: 'keepalive', kind: 'int', def: 10, min: 2, max: 600 },
  { key: 'queueMaxRecords', env: 'DIEMCAU_QUEUE_MAX_RECORDS', flag: 'queue-max', kind: 'int', def: 50_000, min: 10, max: 10_000_000 },
  // Real boxes fsync (one sample per 10 s costs nothing); simulated fleets of thousands do not.
  { key: 'queueFsync', env: 'DIEMCAU_QUEUE_FSYNC', flag: 'queue-fsync', kind: 'bool', def: (p) => p.hardware !== 'simulated' },
  { key: 'logLevel', env: 'DIEMCAU_LOG_LEVEL', flag: 'log-level', kind: 'level', def: 'info' },
];

const LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface ConfigSources {
  env?: Record<string, string | undefined>;
  argv?: readonly string[];
  /** Contents of a JSON file, already parsed; keys are AgentConfig keys. */
  file?: Record<string, unknown>;
}

/** Reads `--name value` / `--name=value` pairs; unknown flags are problems, not silently ignored. */
export function parseFlags(argv: readonly string[], known: ReadonlySet<string>, problems: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      problems.push(`unexpected argument ${JSON.stringify(arg)}`);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    let value = eq === -1 ? undefined : arg.slice(eq + 1);
    if (value === undefined) {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) value = 'true';
      else value = argv[++i];
    }
    if (!known.has(name)) problems.push(`unknown flag --${name}`);
    else out.set(name, value!);
  }
  return out;
}

function convert(field: Field, raw: unknown, where: string, problems: string[]): AgentConfig[keyof AgentConfig] | undefined {
  const text = typeof raw === 'string' ? raw.trim() : raw;
  switch (field.kind) {
    case 'string':
    case 'path':
      if (typeof text !== 'string' || text === '') return void problems.push(`${where}: must be a non-empty string`);
      return field.kind === 'path' ? path.resolve(text) : text;
    case 'url': {
      if (typeof text !== 'string') return void problems.push(`${where}: must be a URL`);
      try {
        const u = new URL(text);
        const ok = field.key === 'mqttUrl' ? ['mqtt:', 'mqtts:', 'ws:', 'wss:'] : ['http:', 'https:'];
        if (!ok.includes(u.protocol)) return void problems.push(`${where}: scheme must be one of ${ok.join(' ')}`);
        return text.replace(/\/+$/, '');
      } catch {
        return void problems.push(`${where}: ${JSON.stringify(text)} is not a URL`);
      }
    }
    case 'int': {
      const n = typeof text === 'number' ? text : typeof text === 'string' && /^-?\d+$/.test(text) ? Number(text) : NaN;
      if (!Number.isInteger(n)) return void problems.push(`${where}: must be an integer`);
      if ((field.min !== undefined && n < field.min) || (field.max !== undefined && n > field.max)) {
        return void problems.push(`${where}: must be between ${field.min} and ${field.max}`);
      }
      return n;
    }
    case 'bool':
      if (typeof text === 'boolean') return text;
      if (text === 'true' || text === '1' || text === 'yes') return true;
      if (text === 'false' || text === '0' || text === 'no') return false;
      return void problems.push(`${where}: must be true or false`);
    case 'hardware':
      if (text === 'real' || text === 'simulated') return text;
      return void problems.push(`${where}: must be "real" or "simulated"`);
    case 'level':
      if (typeof text === 'string' && (LEVELS as string[]).includes(text)) return text as LogLevel;
      return void problems.push(`${where}: must be one of ${LEVELS.join(' ')}`);
  }
}

/** Pure: builds the config from the given sources or throws APPL_ERR_CONFIG listing every problem. */
export function loadConfig(src: ConfigSources): AgentConfig {
  const problems: string[] = [];
  const env = src.env ?? {};
  const flags = parseFlags(src.argv ?? [], new Set([...FIELDS.map((f) => f.flag), 'config']), problems);
  const file = src.file ?? {};
  for (const key of Object.keys(file)) {
    if (!FIELDS.some((f) => f.key === key)) problems.push(`config file: unknown key ${JSON.stringify(key)}`);
  }
  const out: Partial<AgentConfig> = {};
  for (const field of FIELDS) {
    let raw: unknown;
    let where = '';
    if (flags.has(field.flag)) [raw, where] = [flags.get(field.flag), `--${field.flag}`];
    else if (env[field.env] !== undefined && env[field.env] !== '') [raw, where] = [env[field.env], field.env];
    else if (file[field.key] !== undefined) [raw, where] = [file[field.key], `config file ${field.key}`];
    if (raw === undefined) {
      if (field.required) problems.push(`${field.env} (or --${field.flag}) is required`);
      const def = typeof field.def === 'function' ? field.def(out) : field.def;
      (out as Record<string, unknown>)[field.key] = field.kind === 'path' && typeof def === 'string' ? path.resolve(def) : def;
      continue;
    }
    (out as Record<string, unknown>)[field.key] = convert(field, raw, where, problems);
  }
  if (problems.length > 0) {
    throw new DiemcauError('APPL_ERR_CONFIG', problems.join('; '), { details: { problems } });
  }
  return out as AgentConfig;
}

/** The I/O half: finds and reads the optional JSON file, then validates everything. */
export function readConfig(env: NodeJS.ProcessEnv, argv: readonly string[]): AgentConfig {
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
  return loadConfig({ env, argv, file });
}

/** Where the agent keeps its state; every path derives from the data dir. */
export function dataPaths(dataDir: string): { identity: string; seq: string; queue: string } {
  return {
    identity: path.join(dataDir, 'identity.json'),
    seq: path.join(dataDir, 'telemetry-seq'),
    queue: path.join(dataDir, 'queue'),
  };
}

// One way to declare and load a program's settings (fleet, agent, edge): a
// TypeBox schema whose every setting carries its environment variable beside
// it, sections as nested objects, defaults and descriptions in the schema.
// The loader reads defaults (the schema's, then computed ones) < JSON file <
// environment < flags < values given in code, converts strings once, and
// reports EVERY problem in one error, so a unit file is fixed in one go rather
// than one restart per typo. The same schema prints the README's table, so the
// docs cannot drift from the code.
import { Kind, Type, type Static, type TObject, type TProperties, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { DiemcauError, type ErrorCode } from './errors.js';

/** What a setting says beside its schema (TypeBox keeps unknown options as they are). */
export interface SettingOptions {
  /** Its environment variable. A setting without one is set from code or the JSON file only. */
  env?: string;
  /** Former names, still read for one release with a warning at start. */
  envDeprecated?: string[];
  /** Command-line flag without the dashes (programs that take flags). */
  flag?: string;
  /** A list read from one variable: the separator (default ","). */
  envSeparator?: string;
  /** What the docs show as default when the schema cannot say (a default derived from other settings). */
  docDefault?: string;
}

const SECTION = 'x-settings-section';

/** A section of the tree (`meetings`, `ota`, ...): its settings' defaults fill in when nothing is given. */
export function settingsSection<P extends TProperties>(properties: P, description: string): TObject<P> {
  return Type.Object(properties, { description, default: {}, [SECTION]: true });
}

export type Env = Record<string, string | undefined>;

export interface SettingsSources {
  /** Defaults computed at start (a random token), below every other source. */
  defaults?: Record<string, unknown>;
  env?: Env;
  /** Command-line arguments: `--name value`, `--name=value`, a bare `--name` is "true". */
  argv?: readonly string[];
  /** Flags the program takes besides the settings' own (e.g. `config` for the file's path). */
  extraFlags?: readonly string[];
  /** A parsed JSON file: the tree's shape, keys as in the schema. */
  file?: Record<string, unknown>;
  /** Values from code (tests, a composition root that computed them); they win over everything. */
  values?: Record<string, unknown>;
}

export interface LoadedSettings<T> {
  settings: T;
  /** Deprecated names in use; the program logs them once it has a logger. */
  warnings: string[];
}

/** One setting as the loader and the docs see it. */
export interface SettingInfo {
  path: string[];
  schema: TSchema & SettingOptions;
  section: string | undefined;
}

type Opts = TSchema & SettingOptions & { [SECTION]?: boolean; description?: string; default?: unknown };
const isSection = (s: TSchema): s is TObject => s[Kind] === 'Object' && (s as Opts)[SECTION] === true;

/** Every setting of the tree, sections walked in schema order. */
export function listSettings(schema: TObject, prefix: string[] = []): SettingInfo[] {
  const out: SettingInfo[] = [];
  for (const [key, prop] of Object.entries(schema.properties)) {
    const p = [...prefix, key];
    if (isSection(prop)) out.push(...listSettings(prop, p));
    else out.push({ path: p, schema: prop as Opts, section: prefix.length > 0 ? prefix.join('.') : undefined });
  }
  return out;
}

const hasOwn = (o: unknown, k: string): o is Record<string, unknown> =>
  typeof o === 'object' && o !== null && Object.prototype.hasOwnProperty.call(o, k);

function getAt(tree: unknown, path: string[]): { found: boolean; value?: unknown } {
  let cur: unknown = tree;
  for (const k of path) {
    if (!hasOwn(cur, k)) return { found: false };
    cur = cur[k];
  }
  return { found: cur !== undefined, value: cur };
}

function setAt(tree: Record<string, unknown>, path: string[], value: unknown): void {
  let cur = tree;
  for (const k of path.slice(0, -1)) cur = (cur[k] ??= {}) as Record<string, unknown>;
  cur[path[path.length - 1]!] = value;
}

/** Keys of a given tree the schema does not have (sections checked inside, plain objects left to the schema). */
function unknownKeys(schema: TObject, tree: unknown, prefix: string[] = []): string[] {
  if (typeof tree !== 'object' || tree === null || Array.isArray(tree)) return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(tree)) {
    const prop = schema.properties[k];
    if (!prop) out.push([...prefix, k].join('.'));
    else if (isSection(prop)) out.push(...unknownKeys(prop, v, [...prefix, k]));
  }
  return out;
}

/**
 * Strings (environment, flags) become what the schema wants. Only plain
 * decimal numbers count: TypeBox's own conversion would turn "2.5" into 2 for
 * an integer and "true" into 1, hiding a typo instead of reporting it.
 */
function fromString(schema: Opts, raw: string): unknown {
  const text = raw.trim();
  switch (schema[Kind]) {
    case 'Integer':
    case 'Number':
      return /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : text;
    case 'Boolean':
      if (['true', '1', 'yes', 'on'].includes(text.toLowerCase())) return true;
      if (['false', '0', 'no', 'off'].includes(text.toLowerCase())) return false;
      return text;
    case 'Union': {
      // A number or a word (a GPIO line or "none"): a number when it reads as one.
      const numeric = ((schema as { anyOf?: TSchema[] }).anyOf ?? []).some(
        (m) => m[Kind] === 'Integer' || m[Kind] === 'Number',
      );
      return numeric && /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : text;
    }
    case 'Array':
      return text
        .split(schema.envSeparator ?? ',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
    default:
      return text;
  }
}

/** Reads `--name value` / `--name=value` / `--name`; unknown flags and stray words are problems. */
export function parseFlags(
  argv: readonly string[],
  known: ReadonlySet<string>,
  problems: string[],
): Map<string, string> {
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
      value = next === undefined || next.startsWith('--') ? 'true' : argv[++i]!;
    }
    if (!known.has(name)) problems.push(`unknown flag --${name}`);
    else out.set(name, value);
  }
  return out;
}

/**
 * Builds the validated tree or throws `errorCode` whose details are
 * `{ problems, warnings }`, with every problem, each naming the variable (or
 * flag, or file key) the bad value came from.
 */
export function loadSettings<T extends TObject>(
  schema: T,
  src: SettingsSources,
  errorCode: ErrorCode,
): LoadedSettings<Static<T>> {
  const problems: string[] = [];
  const warnings: string[] = [];
  const env = src.env ?? {};
  const settings = listSettings(schema);
  const flagNames = new Set([
    ...settings.flatMap((s) => (s.schema.flag ? [s.schema.flag] : [])),
    ...(src.extraFlags ?? []),
  ]);
  const flags = parseFlags(src.argv ?? [], flagNames, problems);
  problems.push(...unknownKeys(schema, src.file).map((k) => `config file: unknown key ${JSON.stringify(k)}`));
  problems.push(...unknownKeys(schema, src.values).map((k) => `${k}: unknown setting`));

  const envValue = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v;
  };
  const tree: Record<string, unknown> = {};
  const where = new Map<string, string>();
  for (const s of settings) {
    const { env: name, envDeprecated = [], flag } = s.schema;
    const dotted = s.path.join('.');
    let raw: unknown;
    let from: string | undefined;
    const pick = (value: unknown, source: string): void => {
      raw = value;
      from = source;
    };
    const computed = getAt(src.defaults, s.path);
    if (computed.found) pick(computed.value, `computed default ${dotted}`);
    const inFile = getAt(src.file, s.path);
    if (inFile.found) pick(inFile.value, `config file ${dotted}`);
    if (name) {
      const old = envDeprecated.find((o) => envValue(o) !== undefined);
      if (envValue(name) !== undefined) {
        pick(envValue(name), name);
        if (old) warnings.push(`${old} is deprecated and ignored: ${name} is set`);
      } else if (old) {
        pick(envValue(old), old);
        warnings.push(`${old} is deprecated: use ${name} (the old name is read for this release only)`);
      }
    }
    if (flag && flags.has(flag)) pick(flags.get(flag), `--${flag}`);
    const inValues = getAt(src.values, s.path);
    if (inValues.found) pick(inValues.value, dotted);
    if (from === undefined) continue;
    setAt(tree, s.path, typeof raw === 'string' ? fromString(s.schema, raw) : raw);
    where.set(dotted, from);
  }
  ensureSections(schema, tree);

  const value = Value.Default(schema, tree);
  const longestFirst = [...settings].sort((a, b) => b.path.length - a.path.length);
  const seen = new Set<string>();
  for (const e of Value.Errors(schema, value)) {
    const parts = e.path.split('/').slice(1);
    // The setting is the longest known prefix (a plain object setting reports inside itself).
    const s = longestFirst.find((x) => x.path.every((k, i) => parts[i] === k));
    const dotted = s ? s.path.join('.') : parts.join('.');
    if (seen.has(dotted)) continue;
    seen.add(dotted);
    const source = where.get(dotted) ?? s?.schema.env;
    problems.push(
      `${dotted}${source && source !== dotted ? ` (${source})` : ''}: ${describe(e.schema) ?? e.message}, got ${JSON.stringify(e.value)}`,
    );
  }
  if (problems.length > 0) throw new DiemcauError(errorCode, problems.join('; '), { details: { problems, warnings } });
  return { settings: value as Static<T>, warnings };
}

/** "Expected union value" says nothing to a technician: name the choices. */
function describe(schema: TSchema): string | undefined {
  if (schema[Kind] !== 'Union') return undefined;
  const choices = ((schema as { anyOf?: TSchema[] }).anyOf ?? []).map((m) =>
    m[Kind] === 'Literal'
      ? JSON.stringify((m as { const?: unknown }).const)
      : m[Kind] === 'Integer'
        ? 'an integer'
        : m[Kind] === 'Number'
          ? 'a number'
          : String(m[Kind]),
  );
  return `must be one of ${choices.join(', ')}`;
}

/** Every section present, even when nothing in it was given, so that its defaults fill in. */
function ensureSections(schema: TObject, tree: Record<string, unknown>): void {
  for (const [k, prop] of Object.entries(schema.properties)) {
    if (isSection(prop)) ensureSections(prop, (tree[k] ??= {}) as Record<string, unknown>);
  }
}

/** The problems a settings error carries (for a program's "invalid configuration" message). */
export function settingsProblems(err: unknown): string[] | undefined {
  if (!(err instanceof DiemcauError)) return undefined;
  const d = err.details as { problems?: unknown } | undefined;
  return Array.isArray(d?.problems) ? (d.problems as string[]) : undefined;
}

function docDefault(s: Opts): string {
  if (s.docDefault !== undefined) return s.docDefault;
  if (s.default === undefined) return '(unset)';
  if (Array.isArray(s.default)) return `\`${s.default.join(s.envSeparator ?? ',')}\``;
  return `\`${typeof s.default === 'object' ? JSON.stringify(s.default) : String(s.default)}\``;
}

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/**
 * The settings as Markdown, one table per section (the top level first), from
 * the schema itself. Settings without a variable are code-only and left out.
 */
export function settingsMarkdown(schema: TObject): string {
  const settings = listSettings(schema).filter((s) => s.schema.env);
  const groups = new Map<string, SettingInfo[]>();
  for (const s of settings) groups.set(s.section ?? '', [...(groups.get(s.section ?? '') ?? []), s]);
  const blocks: string[] = [];
  for (const [section, rows] of groups) {
    const head: string[] = [];
    if (section !== '') {
      const sec = section.split('.').reduce<TSchema>((sch, k) => (sch as TObject).properties[k]!, schema) as Opts;
      head.push(`**${section}**${sec.description ? `: ${cell(sec.description)}` : ''}`, '');
    }
    const lines = rows.map((s) => {
      const o = s.schema as Opts;
      const names = [`\`${o.env}\``, ...(o.flag ? [`\`--${o.flag}\``] : [])].join(' ');
      const old = o.envDeprecated?.length ? ` (formerly ${o.envDeprecated.map((n) => `\`${n}\``).join(', ')})` : '';
      return `| ${names} | ${cell(docDefault(o))} | ${cell(o.description ?? '')}${old} |`;
    });
    blocks.push([...head, '| Variable | Default | What it does |', '|---|---|---|', ...lines].join('\n'));
  }
  return blocks.join('\n\n');
}

import t from 'tap';
import { Type } from '@sinclair/typebox';
import { listSettings, loadSettings, settingsMarkdown, settingsProblems, settingsSection } from '../src/settings.js';

// A small program's tree: top-level settings, one section, a code-only object.
const Schema = Type.Object({
  port: Type.Integer({
    minimum: 0,
    maximum: 65535,
    default: 8080,
    env: 'X_PORT',
    flag: 'port',
    description: 'where to listen',
  }),
  logLevel: Type.Union([Type.Literal('info'), Type.Literal('warn')], {
    default: 'info',
    env: 'X_LOG_LEVEL',
    envDeprecated: ['LOG_LEVEL'],
    description: 'log level',
  }),
  url: Type.Optional(Type.String({ pattern: '^https?://', env: 'X_URL', description: 'upstream | maybe' })),
  ota: settingsSection(
    {
      tickMs: Type.Integer({ minimum: 0, default: 5000, env: 'X_OTA_TICK_MS', description: 'tick' }),
      caches: Type.Boolean({ default: true, env: 'X_OTA_CACHES', description: 'district caches' }),
      dirs: Type.Array(Type.String(), {
        default: ['/a', '/b'],
        env: 'X_OTA_DIRS',
        envSeparator: ':',
        description: 'search path',
      }),
      limits: Type.Object({ n: Type.Integer({ minimum: 1 }) }, { default: { n: 3 } }),
    },
    'updates',
  ),
});

const problemsOf = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (err) {
    return settingsProblems(err) ?? [`not a settings error: ${String(err)}`];
  }
  return [];
};

t.test('defaults fill the whole tree, sections included', async (t) => {
  const { settings, warnings } = loadSettings(Schema, {}, 'FLEET_ERR_CONFIG');
  t.same(settings, {
    port: 8080,
    logLevel: 'info',
    ota: { tickMs: 5000, caches: true, dirs: ['/a', '/b'], limits: { n: 3 } },
  });
  t.same(warnings, []);
});

t.test('strings are converted once; later sources win: file < env < flags < values', async (t) => {
  const { settings } = loadSettings(
    Schema,
    {
      file: { port: 1, ota: { tickMs: 10, limits: { n: 9 } } },
      env: { X_PORT: '2', X_OTA_TICK_MS: '20', X_OTA_CACHES: 'no', X_OTA_DIRS: '/c::/d', X_URL: '  ' },
      argv: ['--port=3'],
      values: { ota: { tickMs: 40 } },
    },
    'FLEET_ERR_CONFIG',
  );
  t.equal(settings.port, 3, 'flag beats env and file');
  t.equal(settings.ota.tickMs, 40, 'values from code beat the environment');
  t.equal(settings.ota.caches, false);
  t.same(settings.ota.dirs, ['/c', '/d']);
  t.same(settings.ota.limits, { n: 9 }, 'a code-only setting from the file');
  t.equal(settings.url, undefined, 'a blank variable counts as unset');
  const computed = loadSettings(
    Schema,
    { defaults: { url: 'http://computed', port: 5 }, env: { X_PORT: '6' } },
    'FLEET_ERR_CONFIG',
  ).settings;
  t.equal(computed.url, 'http://computed', 'a default computed at start fills in');
  t.equal(computed.port, 6, 'and anything given beats it');
});

t.test('every problem at once, each naming where the bad value came from', async (t) => {
  const problems = problemsOf(() =>
    loadSettings(
      Schema,
      {
        env: { X_PORT: 'eighty', X_URL: 'ftp://x', X_OTA_TICK_MS: '2.5', X_OTA_CACHES: 'maybe' },
        argv: ['--nope', 'x', 'stray'],
        file: { colour: 'blue', ota: { limits: { n: 0 }, speed: 1 } },
        values: { extra: 1 },
      },
      'APPL_ERR_CONFIG',
    ),
  );
  const text = problems.join('\n');
  t.equal(problems.length, 10, text);
  t.match(text, /port \(X_PORT\): .*"eighty"/);
  t.match(text, /url \(X_URL\): .*"ftp:\/\/x"/);
  t.match(text, /ota\.tickMs \(X_OTA_TICK_MS\): .*2\.5/, 'no silent truncation of 2.5 to 2');
  t.match(text, /ota\.caches \(X_OTA_CACHES\): .*"maybe"/);
  t.match(text, /ota\.limits \(config file ota\.limits\)/);
  t.match(text, /unknown flag --nope/);
  t.match(text, /unexpected argument "stray"/);
  t.match(text, /unknown key "colour"/);
  t.match(text, /unknown key "ota\.speed"/);
  t.match(text, /extra: unknown setting/);
  t.throws(() => loadSettings(Schema, { env: { X_PORT: 'x' } }, 'APPL_ERR_CONFIG'), { code: 'APPL_ERR_CONFIG' });
});

t.test('a deprecated name is read with a warning; beside the new one it is ignored', async (t) => {
  const old = loadSettings(Schema, { env: { LOG_LEVEL: 'warn' } }, 'FLEET_ERR_CONFIG');
  t.equal(old.settings.logLevel, 'warn');
  t.equal(old.warnings.length, 1);
  t.match(old.warnings[0], /LOG_LEVEL is deprecated: use X_LOG_LEVEL/);
  const both = loadSettings(Schema, { env: { LOG_LEVEL: 'warn', X_LOG_LEVEL: 'info' } }, 'FLEET_ERR_CONFIG');
  t.equal(both.settings.logLevel, 'info', 'the new name wins');
  t.match(both.warnings[0], /LOG_LEVEL is deprecated and ignored/);
  t.match(
    problemsOf(() => loadSettings(Schema, { env: { LOG_LEVEL: 'loud' } }, 'FLEET_ERR_CONFIG')).join(),
    /logLevel \(LOG_LEVEL\)/,
    'a bad old value names the old variable',
  );
});

t.test('the docs come from the schema: a table per section, defaults, flags, former names', async (t) => {
  const md = settingsMarkdown(Schema);
  t.match(md, '| `X_PORT` `--port` | `8080` | where to listen |');
  t.match(md, '| `X_LOG_LEVEL` | `info` | log level (formerly `LOG_LEVEL`) |');
  t.match(md, '| `X_URL` | (unset) | upstream \\| maybe |', 'pipes escaped');
  t.match(md, '**ota**: updates');
  t.match(md, '| `X_OTA_DIRS` | `/a:/b` | search path |');
  t.notMatch(md, 'limits', 'code-only settings are not in the table');
  t.same(
    listSettings(Schema).map((s) => s.path.join('.')),
    ['port', 'logLevel', 'url', 'ota.tickMs', 'ota.caches', 'ota.dirs', 'ota.limits'],
  );
});

// The two-node deployment example (deploy/compose.yaml, deploy/haproxy.cfg),
// checked without an engine: the compose file against the Compose
// Specification's JSON schema (deploy/compose-spec.json, from
// github.com/compose-spec/compose-spec), then what a schema cannot say: every
// setting it passes is one our programs read, every service it names exists,
// HAProxy's servers are the fleet services on the ports the image serves.
// Not checked here: that the images pull, that the containers start and talk
// (no engine), and HAProxy's own parser (`haproxy -c` is not installed).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import type { TSchema } from '@sinclair/typebox';
import { FleetConfigSchema } from '../../fleet/src/config.js';
import { EdgeSettingsSchema } from '../../appliance/src/media/config.js';
import { parseDockerfile } from './dockerfile.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const deploy = path.join(root, 'deploy');
const compose = parse(fs.readFileSync(path.join(deploy, 'compose.yaml'), 'utf8'), { merge: true }) as {
  services: Record<
    string,
    {
      image?: string;
      build?: { context: string; dockerfile: string };
      command?: string[];
      environment?: Record<string, string>;
      depends_on?: Record<string, unknown> | string[];
      volumes?: string[];
      ports?: string[];
    }
  >;
  volumes: Record<string, unknown>;
};
// Settings of the cluster's store and broker adapters, read by the fleet in cluster mode.
const CLUSTER_SETTINGS = ['DIEMCAU_DATABASE_URL', 'DIEMCAU_REDIS_URL'];
// Read by the image's entry point (deploy/start.sh) itself.
const ENTRY_SETTINGS = ['DIEMCAU_APP_DIR'];

/** Every environment variable a settings schema reads, sections included. */
function envNames(schema: TSchema): string[] {
  const env = (schema as { env?: unknown }).env;
  const own = typeof env === 'string' ? [env] : [];
  const props = (schema as { properties?: Record<string, TSchema> }).properties ?? {};
  return [...own, ...Object.values(props).flatMap(envNames)];
}

t.test('the compose file is valid under the Compose Specification schema', async (t) => {
  const ajv = new Ajv({ strict: false, allErrors: true });
  // Draft-07, Ajv's own; its "$schema" spells the meta-schema's URL in a form Ajv does not look up.
  const { $schema: _draft, ...schema } = JSON.parse(
    fs.readFileSync(path.join(deploy, 'compose-spec.json'), 'utf8'),
  ) as Record<string, unknown>;
  t.match(_draft, /draft-07/);
  const validate = ajv.compile(schema);
  t.ok(validate(compose), 'valid', { errors: validate.errors });
  // The schema is not a formality: a misspelt key is refused.
  t.notOk(validate({ services: { fleet: { image: 'x', enviroment: {} } } }), 'a misspelt key is refused');
});

t.test('what the schema cannot check', async (t) => {
  const known = new Set([
    ...envNames(FleetConfigSchema),
    ...envNames(EdgeSettingsSchema),
    ...CLUSTER_SETTINGS,
    ...ENTRY_SETTINGS,
  ]);
  t.ok(known.has('DIEMCAU_CORE_PLAN_FILE') && known.has('DIEMCAU_EDGE_PORT'), 'the settings trees were read');
  const services = compose.services;
  for (const [name, s] of Object.entries(services)) {
    const unknown = Object.keys(s.environment ?? {}).filter((k) => k.startsWith('DIEMCAU_') && !known.has(k));
    t.same(unknown, [], `${name}: every DIEMCAU_ setting is one the programs read`);
    const deps = Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on ?? {});
    t.same(
      deps.filter((d) => !(d in services)),
      [],
      `${name}: depends only on services that exist`,
    );
    for (const v of s.volumes ?? []) {
      const src = v.split(':')[0]!;
      if (src.startsWith('.')) t.ok(fs.existsSync(path.join(deploy, src)), `${name}: ${src} exists`);
      else t.ok(src in compose.volumes, `${name}: volume ${src} is declared`);
    }
  }
  const fleetNodes = Object.entries(services).filter(([, s]) => s.build);
  t.equal(fleetNodes.length, 2, 'two fleet nodes');
  for (const [name, s] of fleetNodes) {
    t.ok(
      fs.existsSync(path.join(deploy, s.build!.context, s.build!.dockerfile)),
      `${name} builds the repository's Dockerfile`,
    );
    t.ok(
      s.environment?.DIEMCAU_DATABASE_URL?.startsWith('postgres://') &&
        s.environment?.DIEMCAU_REDIS_URL?.startsWith('redis://'),
      `${name} runs in cluster mode`,
    );
  }
  // The entry point's commands and the ports the image serves, from the Dockerfile itself.
  const run = parseDockerfile(fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8')).at(-1)!;
  const exposed = run.instructions.filter((i) => i.op === 'EXPOSE').flatMap((i) => i.args.split(/\s+/));
  const start = fs.readFileSync(path.join(deploy, 'start.sh'), 'utf8');
  for (const [name, s] of Object.entries(services).filter(([, s]) => s.image === 'diemcau-fleet')) {
    t.match(start, new RegExp(`^\\s*${s.command?.[0]}\\)`, 'm'), `${name}: the entry point knows "${s.command?.[0]}"`);
  }

  const cfg = fs.readFileSync(path.join(deploy, 'haproxy.cfg'), 'utf8');
  const servers = [...cfg.matchAll(/^\s*server\s+(\S+)\s+([^:\s]+):(\d+)/gm)].map((m) => ({
    host: m[2]!,
    port: m[3]!,
  }));
  t.same(
    [...new Set(servers.map((s) => s.host))].sort(),
    fleetNodes.map(([n]) => n).sort(),
    'HAProxy balances exactly the fleet nodes',
  );
  t.same(
    servers.filter((s) => !exposed.includes(s.port)),
    [],
    `HAProxy's ports are ones the image serves (${exposed.join(', ')})`,
  );
  const published = services.haproxy?.ports ?? [];
  const binds = [...cfg.matchAll(/^\s*bind\s+:(\d+)/gm)].map((m) => m[1]!);
  t.same(
    published.map((p) => p.split(':')[1]!.split(/\s/)[0]).sort(),
    binds.sort(),
    'the published ports are the ones HAProxy binds',
  );
});

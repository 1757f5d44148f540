// Builders for OTA tests: signing keys, small release artifacts (a fake agent
// whose self-test passes or fails), an origin server with byte ranges that
// can corrupt what it serves, and a box runner that plays systemd.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import {
  parseByteRange,
  signManifest,
  type DesiredRelease,
  type ReleaseManifest,
  type TrustedKey,
} from '@diemcau/shared';

export interface Keys {
  keyId: string;
  privateKeyPem: string;
  trusted: TrustedKey;
}

export function makeKeys(keyId = 'test-key'): Keys {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    keyId,
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    trusted: { keyId, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() },
  };
}

export interface Artifact {
  version: string;
  file: string;
  manifest: ReleaseManifest;
}

/** A release whose agent.mjs passes (or fails) `--self-test`, padded with incompressible bytes. */
export function buildArtifact(
  dir: string,
  version: string,
  opts: { selfTestOk?: boolean; padBytes?: number } = {},
): Artifact {
  const src = fs.mkdtempSync(path.join(dir, `src-${version}-`));
  const ok = opts.selfTestOk ?? true;
  fs.writeFileSync(
    path.join(src, 'agent.mjs'),
    `if (process.argv.includes('--self-test')) { console.log(${JSON.stringify(ok ? 'ok' : 'camera pipeline broken')}); process.exit(${ok ? 0 : 1}); }\nconsole.log('agent ${version}');\n`,
  );
  fs.writeFileSync(path.join(src, 'pad.bin'), randomBytes(opts.padBytes ?? 256 * 1024));
  fs.writeFileSync(path.join(src, 'manifest.json'), JSON.stringify({ version, entry: 'agent.mjs' }, null, 2));
  const file = path.join(dir, `diemcau-agent-${version}.tar.gz`);
  execFileSync('tar', ['-czf', file, '-C', src, '.']);
  const bytes = fs.readFileSync(file);
  const unpackedSize = fs.readdirSync(src).reduce((n, f) => n + fs.statSync(path.join(src, f)).size, 0);
  const manifest: ReleaseManifest = {
    v: 1,
    version,
    artifact: path.basename(file),
    sha256: createHash('sha256').update(bytes).digest('hex'),
    size: bytes.length,
    unpackedSize,
    minAgentVersion: '1.0.0',
    created: new Date().toISOString(),
    entry: 'agent.mjs',
    native: [],
  };
  return { version, file, manifest };
}

export function desiredFor(
  a: Artifact,
  keys: Keys,
  urls: string[],
  extra: Partial<DesiredRelease> = {},
): DesiredRelease {
  return {
    v: 1,
    version: a.version,
    manifest: signManifest(a.manifest, keys.keyId, keys.privateKeyPem),
    urls,
    ...extra,
  };
}

export interface Origin {
  url: string;
  artifactUrl(version: string): string;
  add(a: Artifact): void;
  corrupt: Set<string>;
  bytesSent: Map<string, number>;
  /** First byte of every ranged request, per version. */
  rangeStarts: Map<string, number[]>;
  close(): Promise<void>;
}

/** The fleet as far as a box's updater sees it: artifacts with ranges, and /health to reconnect to. */
export async function startOrigin(): Promise<Origin> {
  const files = new Map<string, string>();
  const corrupt = new Set<string>();
  const bytesSent = new Map<string, number>();
  const rangeStarts = new Map<string, number[]>();
  const server = http.createServer((req, res) => {
    if (req.url === '/health') return void res.end('ok');
    const m = /^\/api\/v1\/releases\/([^/]+)\/artifact$/.exec(req.url ?? '');
    const file = m ? files.get(m[1]!) : undefined;
    if (!m || !file) return void res.writeHead(404).end();
    const version = m[1]!;
    let data = fs.readFileSync(file);
    if (corrupt.has(version)) {
      data = Buffer.from(data);
      data[Math.floor(data.length / 2)] ^= 0xff;
    }
    const r = parseByteRange(req.headers.range, data.length);
    if (r === 'unsatisfiable') return void res.writeHead(416).end();
    const { start, end } = r ?? { start: 0, end: data.length - 1 };
    if (r && req.method !== 'HEAD') rangeStarts.set(version, [...(rangeStarts.get(version) ?? []), start]);
    const body = data.subarray(start, end + 1);
    res.writeHead(r ? 206 : 200, {
      'Content-Length': body.length,
      'Accept-Ranges': 'bytes',
      ...(r ? { 'Content-Range': `bytes ${start}-${end}/${data.length}` } : {}),
    });
    if (req.method === 'HEAD') return void res.end();
    bytesSent.set(version, (bytesSent.get(version) ?? 0) + body.length);
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    artifactUrl: (v) => `${url}/api/v1/releases/${v}/artifact`,
    add: (a) => void files.set(a.version, a.file),
    corrupt,
    bytesSent,
    rangeStarts,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export interface Box {
  dir: string;
  root: string;
  state: string;
  outbox: string;
  keysFile: string;
  desiredFile: string;
}

/** A box already running `base` from versions/<base> with current → it. */
export function makeBox(parent: string, name: string, base: Artifact, trusted: TrustedKey[]): Box {
  const dir = fs.mkdtempSync(path.join(parent, `${name}-`));
  const root = path.join(dir, 'opt');
  const state = path.join(dir, 'var');
  fs.mkdirSync(path.join(root, 'versions', base.version), { recursive: true });
  fs.mkdirSync(state, { recursive: true });
  execFileSync('tar', ['-xzf', base.file, '-C', path.join(root, 'versions', base.version)]);
  fs.symlinkSync(path.join('versions', base.version), path.join(root, 'current'));
  const keysFile = path.join(dir, 'keys.json');
  fs.writeFileSync(keysFile, JSON.stringify(trusted));
  return {
    dir,
    root,
    state,
    outbox: path.join(dir, 'outbox.jsonl'),
    keysFile,
    desiredFile: path.join(dir, 'desired.json'),
  };
}

const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'box.ts');

let bundled: Promise<string> | null = null;
/**
 * The box program bundled once with esbuild (the same way releases are
 * built): a start then costs a plain node start, not a TypeScript compile,
 * which keeps a matrix of dozens of starts quick.
 */
function boxProgram(): Promise<string> {
  bundled ??= (async () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-box-')), 'box.mjs');
    await build({
      entryPoints: [FIXTURE],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile: out,
      logLevel: 'error',
      banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    });
    process.once('exit', () => fs.rmSync(path.dirname(out), { recursive: true, force: true }));
    return out;
  })();
  return bundled;
}

export interface RunLog {
  starts: number;
  kills: string[];
}

/**
 * Plays systemd for one box: starts the agent, restarts it on exit 75, and
 * kill -9s it when it pauses at a named checkpoint (`pauses` says at which
 * checkpoint to stop on each start; undefined entries run freely).
 */
export async function runBox(
  box: Box,
  fleetUrl: string,
  pauses: (string | undefined)[] = [],
  extraEnv: Record<string, string> = {},
): Promise<RunLog> {
  const log: RunLog = { starts: 0, kills: [] };
  const program = await boxProgram();
  for (let i = 0; i < 12; i++) {
    const pauseAt = pauses[i];
    log.starts++;
    const code = await new Promise<number | string>((resolve, reject) => {
      const child = spawn(process.execPath, [program], {
        env: {
          ...process.env,
          BOX_ROOT: box.root,
          BOX_STATE: box.state,
          BOX_OUTBOX: box.outbox,
          BOX_KEYS: box.keysFile,
          BOX_DESIRED: box.desiredFile,
          BOX_FLEET: fleetUrl,
          ...(pauseAt ? { BOX_PAUSE_AT: pauseAt } : {}),
          ...extraEnv,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.stdout.on('data', (d: Buffer) => {
        if (pauseAt && d.toString().includes(`PAUSED ${pauseAt}`)) {
          log.kills.push(pauseAt);
          child.kill('SIGKILL');
        }
      });
      child.on('error', reject);
      child.on('exit', (c, sig) => {
        if (c !== 0 && c !== 75 && sig !== 'SIGKILL') reject(new Error(`box exited ${c ?? sig}: ${stderr}`));
        else resolve(sig ?? c ?? -1);
      });
    });
    if (code === 0) return log;
  }
  throw new Error('box did not settle in 12 starts');
}

export function readOutbox(box: Box): Array<Record<string, unknown> & { durable: boolean; state: string }> {
  if (!fs.existsSync(box.outbox)) return [];
  return fs
    .readFileSync(box.outbox, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown> & { durable: boolean; state: string });
}

/** The version `current` points at and whether it passes its own self-test. */
export function boxHealth(box: Box): { version: string; working: boolean } {
  const version = path.basename(fs.readlinkSync(path.join(box.root, 'current')));
  try {
    const r = execFileSync(process.execPath, [path.join(box.root, 'current', 'agent.mjs'), '--self-test'], {
      stdio: 'pipe',
    }).toString();
    return { version, working: r.trim() === 'ok' };
  } catch {
    return { version, working: false };
  }
}

export const tmpDir = (prefix: string): string => fs.mkdtempSync(path.join(os.tmpdir(), prefix));

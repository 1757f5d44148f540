// Backup and restore as an operator runs them: a fleet on TLS with simulated
// boxes connected and sending telemetry every second is backed up while it
// runs (`npm run backup`), stopped, restored into a fresh data dir
// (`npm run restore`), and started from there with the key files the restore
// put back. Every box must come back online without enrolling again: their
// credentials, the operators, the audit log and the releases come from the
// archive, and the boxes only trust the restored certificate's CA.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { signManifest, type ReleaseManifest } from '@diemcau/shared';
import { makeCerts } from '../../appliance/test/helpers/certs.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BOXES = 12;
const ADMIN = 'backup-test-admin-token-0123456789';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-backup-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = net
      .createServer()
      .once('error', reject)
      .listen(0, '127.0.0.1', () => {
        const { port } = s.address() as net.AddressInfo;
        s.close(() => resolve(port));
      });
  });

const children: ChildProcess[] = [];
t.teardown(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** A program of this repository as a user starts it (through tsx), its output kept. */
function start(
  script: string,
  args: string[],
  env: Record<string, string>,
): { child: ChildProcess; out: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, script), ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, out: () => out, exited };
}

async function until<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  ms: number,
  log: () => string,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}:\n${log().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const certs = makeCerts(fs.mkdtempSync(path.join(tmp, 'certs-')));
const ca = fs.readFileSync(certs.caFile);

/** One HTTPS call to the fleet, trusting only the test CA. */
function api<T>(
  port: number,
  method: string,
  url: string,
  body?: unknown,
  opts: { token?: string; raw?: boolean } = {},
): Promise<{ status: number; body: T }> {
  const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path: url,
        ca,
        timeout: 10_000,
        headers: {
          authorization: `Bearer ${opts.token ?? ADMIN}`,
          ...(payload
            ? {
                'content-type': Buffer.isBuffer(body) ? 'application/octet-stream' : 'application/json',
                'content-length': payload.length,
              }
            : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const buf = Buffer.concat(chunks);
          resolve({
            status: res.statusCode ?? 0,
            body: (opts.raw ? buf : buf.length ? JSON.parse(buf.toString()) : null) as T,
          });
        });
      },
    );
    req.on('error', reject).on('timeout', () => req.destroy(new Error('timeout')));
    req.end(payload);
  });
}

t.test(
  'a running fleet backed up with boxes connected, restored into a fresh data dir: every box reconnects',
  { timeout: 280_000 },
  async (t) => {
    const [httpPort, mqttPort] = [await freePort(), await freePort()];
    const dataA = path.join(tmp, 'fleet-a');
    const dataB = path.join(tmp, 'fleet-b');
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const keyId = 'release-backup-test';
    const trusted = path.join(tmp, 'trusted-keys.json');
    fs.writeFileSync(
      trusted,
      JSON.stringify([{ keyId, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() }]),
    );
    const common = {
      DIEMCAU_HTTP_PORT: String(httpPort),
      DIEMCAU_MQTT_PORT: String(mqttPort),
      DIEMCAU_HOST: '127.0.0.1',
      DIEMCAU_ADMIN_TOKEN: ADMIN,
      DIEMCAU_LOG_LEVEL: 'info',
      DIEMCAU_MQTT_MAX_LOGINS_PER_DEVICE_PER_MIN: '0',
    };
    const envA = {
      ...common,
      DIEMCAU_DATA_DIR: dataA,
      DIEMCAU_TLS_CERT: certs.certFile,
      DIEMCAU_TLS_KEY: certs.keyFile,
      DIEMCAU_TLS_CA: certs.caFile,
      DIEMCAU_OTA_TRUSTED_KEYS: trusted,
    };

    const a = start('fleet/src/main.ts', [], envA);
    await until('fleet A listening', async () => a.out().includes('"fleet listening"'), 60_000, a.out);

    // What must survive: a release (manifest and artifact), an operator and its token, the audit log.
    const artifact = randomBytes(48 * 1024);
    const manifest: ReleaseManifest = {
      v: 1,
      version: '0.9.0',
      artifact: 'diemcau-agent-0.9.0.tar.gz',
      sha256: createHash('sha256').update(artifact).digest('hex'),
      size: artifact.length,
      unpackedSize: artifact.length,
      minAgentVersion: '0.1.0',
      created: new Date().toISOString(),
      entry: 'agent.mjs',
      native: [],
    };
    const privPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    t.equal(
      (await api(httpPort, 'POST', '/api/v1/releases', signManifest(manifest, keyId, privPem))).status,
      201,
      'release registered on A',
    );
    t.equal(
      (await api(httpPort, 'PUT', '/api/v1/releases/0.9.0/artifact', artifact)).status,
      200,
      'artifact uploaded to A',
    );
    const op = await api<{ token: string }>(httpPort, 'POST', '/api/v1/operators', {
      name: 'province duty desk',
      role: 'viewer',
    });
    t.equal(op.status, 201, 'operator created on A');

    // The boxes: enrolled over HTTPS, MQTT over TLS, trusting the CA as a box's image would.
    const simDir = path.join(tmp, 'sim');
    const sim = start(
      'appliance/src/sim.ts',
      [
        '--fleet-url',
        `https://127.0.0.1:${httpPort}`,
        '--admin-token',
        ADMIN,
        '--devices',
        String(BOXES),
        '--telemetry-interval',
        '1',
        '--keepalive',
        '5',
        '--data-dir',
        simDir,
        '--concurrency',
        String(BOXES),
      ],
      { NODE_EXTRA_CA_CERTS: certs.caFile },
    );
    const online = async (): Promise<string[]> =>
      (await api<{ items: { id: string }[] }>(httpPort, 'GET', '/api/v1/devices?online=true')).body.items
        .map((d) => d.id)
        .sort();
    const before = await until(
      'every box online on A',
      async () => {
        const ids = await online();
        return ids.length === BOXES && ids;
      },
      120_000,
      () => a.out() + sim.out(),
    );

    // Online, while telemetry keeps being written.
    const archive = path.join(tmp, 'backups', 'fleet.tar.gz');
    const b1 = start('fleet/src/backup/main.ts', ['backup', '--out', archive], envA);
    t.equal(await b1.exited, 0, 'backup succeeded while the fleet ran', { output: b1.out().slice(-2000) });
    const summary = JSON.parse(
      b1
        .out()
        .split('\n')
        .find((l) => l.startsWith('{"file"'))!,
    ) as { counts: Record<string, number>; files: number };
    t.equal(summary.counts.devices, BOXES, 'the snapshot has every device');
    t.ok(summary.counts.audit_log! > 0 && summary.counts.operators! >= 1, 'and the audit log and operators');
    t.equal(fs.statSync(archive).mode & 0o077, 0, 'the archive is owner-only');

    a.child.kill('SIGTERM');
    t.equal(await a.exited, 0, 'fleet A stopped');

    // A fresh data dir; the key files come back under it, and restored.env names them.
    const r = start('fleet/src/backup/main.ts', ['restore', '--from', archive], { ...common, DIEMCAU_DATA_DIR: dataB });
    t.equal(await r.exited, 0, 'restore succeeded', { output: r.out().slice(-2000) });
    const restored = Object.fromEntries(
      fs
        .readFileSync(path.join(dataB, 'keys', 'restored.env'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => l.split('=') as [string, string]),
    );
    t.same(Object.keys(restored).sort(), [
      'DIEMCAU_OTA_TRUSTED_KEYS',
      'DIEMCAU_TLS_CA',
      'DIEMCAU_TLS_CERT',
      'DIEMCAU_TLS_KEY',
    ]);
    t.equal(
      fs.readFileSync(restored.DIEMCAU_TLS_KEY!, 'utf8'),
      fs.readFileSync(certs.keyFile, 'utf8'),
      'the private key is back',
    );
    t.equal(fs.statSync(restored.DIEMCAU_TLS_KEY!).mode & 0o077, 0, 'owner-only');
    const again = start('fleet/src/backup/main.ts', ['restore', '--from', archive], {
      ...common,
      DIEMCAU_DATA_DIR: dataB,
    });
    t.equal(await again.exited, 1, 'a second restore into the same data dir is refused');
    t.match(again.out(), /restore into a fresh data dir/);

    const startedB = Date.now();
    const b = start('fleet/src/main.ts', [], { ...common, DIEMCAU_DATA_DIR: dataB, ...restored });
    await until('fleet B listening', async () => b.out().includes('"fleet listening"'), 60_000, b.out);
    // The restored registry still says "online" for the boxes that were (the startup grace): what
    // counts is telemetry that reached fleet B, over MQTT, after it started.
    const fresh = async (): Promise<string[] | false> => {
      const items = (
        await api<{ items: { id: string; telemetry?: { at: string } | null }[] }>(httpPort, 'GET', '/api/v1/devices')
      ).body.items;
      const ids = items
        .filter((d) => d.telemetry && Date.parse(d.telemetry.at) > startedB)
        .map((d) => d.id)
        .sort();
      return ids.length === BOXES && ids;
    };
    const after = await until('telemetry from every box on B', fresh, 120_000, () => b.out() + sim.out());
    t.same(after, before, 'every box reconnected and reports: the same devices, none enrolled again');
    t.same(await online(), before, 'all online on B');
    t.notMatch(sim.out(), /token used up|APPL_ERR_ENROLL/, 'no box tried to enrol again');

    const rel = await api<{ items: { version: string; artifactReady: boolean }[] }>(
      httpPort,
      'GET',
      '/api/v1/releases',
    );
    t.same(
      rel.body.items.map((x) => [x.version, x.artifactReady]),
      [['0.9.0', true]],
      'the release is back, with its artifact',
    );
    const dl = await api<Buffer>(httpPort, 'GET', '/api/v1/releases/0.9.0/artifact', undefined, { raw: true });
    t.equal(createHash('sha256').update(dl.body).digest('hex'), manifest.sha256, 'the artifact is served unchanged');
    const next = { ...manifest, version: '0.9.1', created: new Date().toISOString() };
    t.equal(
      (await api(httpPort, 'POST', '/api/v1/releases', signManifest(next, keyId, privPem))).status,
      201,
      'the restored release trust accepts the next signed release',
    );
    t.equal(
      (await api(httpPort, 'GET', '/api/v1/devices', undefined, { token: op.body.token })).status,
      200,
      "the operator's token still works",
    );
    const audit = await api<{ items: { action: string }[] }>(httpPort, 'GET', '/api/v1/audit?limit=1000');
    t.ok(audit.body.items.length >= summary.counts.audit_log!, 'the audit log is back');

    sim.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    await Promise.all([sim.exited, b.exited]);
  },
);

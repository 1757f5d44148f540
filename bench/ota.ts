// `npm run bench:ota [-- --size BYTES]`: what an update costs the province's
// link. A real fleet (API, SQLite, artifact endpoint) serves one signed
// release to the 210 sites of the seeds with the agent's own downloader:
//   1. every box straight from the fleet;
//   2. communes through their district box's cache (appliance/src/ota/cache-server.ts),
//      district boxes through their own cache, province-level bodies from the fleet;
//   3. one box whose link drops at 30% of the download, then resumes with a
//      Range request, against a restart from zero.
// Prints bytes sent by the fleet for each. Everything on 127.0.0.1, port 0,
// a temp dir removed at the end.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { signManifest, type ReleaseManifest, type Site } from '@diemcau/shared';
import { buildFleet } from '../fleet/src/app.js';
import type { OtaHandles } from '../fleet/src/ota/plugin.js';
import { yenBaiSites } from '../fleet/src/seeds/yen-bai.js';
import { ArtifactCache } from '../appliance/src/ota/cache-server.js';
import { download } from '../appliance/src/ota/download.js';

const { values } = parseArgs({
  options: { size: { type: 'string', default: String(1024 * 1024) }, concurrency: { type: 'string', default: '32' } },
});
const SIZE = Number(values.size);
const CONCURRENCY = Number(values.concurrency);
const ADMIN = 'bench-admin-token-0123456789abcdef';
const say = (msg: string): void => void process.stdout.write(`${msg}\n`);
const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(2)} MiB`;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-bench-ota-'));
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const keysFile = path.join(dir, 'trusted.json');
fs.writeFileSync(
  keysFile,
  JSON.stringify([{ keyId: 'bench', publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() }]),
);

let ota!: OtaHandles;
const fleet = await buildFleet({
  config: {
    httpPort: 0,
    mqttPort: 0,
    host: '127.0.0.1',
    dataDir: path.join(dir, 'fleet'),
    adminToken: ADMIN,
    logLevel: 'silent',
  },
  ota: { config: { trustedKeysFile: keysFile, tickMs: 0 }, expose: (h) => (ota = h) },
});
const caches: ArtifactCache[] = [];
try {
  // One release, registered and uploaded through the API.
  const bytes = randomBytes(SIZE);
  const manifest: ReleaseManifest = {
    v: 1,
    version: '1.0.1',
    artifact: 'diemcau-agent-1.0.1.tar.gz',
    sha256: createHash('sha256').update(bytes).digest('hex'),
    size: SIZE,
    unpackedSize: SIZE * 3,
    minAgentVersion: '0.1.0',
    created: new Date().toISOString(),
    entry: 'agent.mjs',
    native: [],
  };
  const auth = { authorization: `Bearer ${ADMIN}` };
  const signed = signManifest(manifest, 'bench', privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  const reg = await fleet.http.inject({ method: 'POST', url: '/api/v1/releases', headers: auth, payload: signed });
  const up = await fleet.http.inject({
    method: 'PUT',
    url: '/api/v1/releases/1.0.1/artifact',
    headers: { ...auth, 'content-type': 'application/octet-stream' },
    payload: bytes,
  });
  if (reg.statusCode !== 201 || up.statusCode !== 200)
    throw new Error(`release upload failed: ${reg.statusCode} ${up.statusCode}`);
  const fleetUrl = `http://127.0.0.1:${fleet.httpPort}`;
  const artifactPath = '/api/v1/releases/1.0.1/artifact';

  const sites: Site[] = yenBaiSites();
  const boxes = fs.mkdtempSync(path.join(dir, 'boxes-'));
  let n = 0;
  const fetchTo = async (url: string): Promise<void> => {
    const dest = path.join(boxes, `${n++}.part`);
    await download({ urls: [url], dest, size: SIZE });
    const sha = createHash('sha256').update(fs.readFileSync(dest)).digest('hex');
    if (sha !== manifest.sha256) throw new Error('bad download');
    fs.rmSync(dest);
  };
  const pool = async (urls: string[]): Promise<void> => {
    let i = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (i < urls.length) await fetchTo(urls[i++]!);
      }),
    );
  };

  say(`diemcau OTA bench: ${sites.length} sites, artifact ${mb(SIZE)} (${SIZE} bytes)`);
  say('');
  // 1. Straight from the fleet.
  let before = ota.stats.artifactBytesSent;
  let t0 = Date.now();
  await pool(sites.map(() => `${fleetUrl}${artifactPath}`));
  const direct = ota.stats.artifactBytesSent - before;
  say(
    `without district caches: fleet sent ${direct} bytes (${mb(direct)}) = ${(direct / SIZE).toFixed(2)} artifacts, ${Date.now() - t0} ms`,
  );

  // 2. Through district caches.
  const districts = sites.filter((s) => s.kind === 'district');
  const cacheUrl = new Map<string, string>();
  for (const d of districts) {
    const c = new ArtifactCache({
      dir: path.join(dir, 'cache', d.id),
      upstream: fleetUrl,
      logger: pino({ level: 'silent' }),
    });
    caches.push(c);
    cacheUrl.set(d.id, await c.listen());
  }
  const urlFor = (s: Site): string => {
    const district = s.kind === 'district' ? s.id : s.kind === 'commune' ? s.parentId : null;
    return `${district ? cacheUrl.get(district)! : fleetUrl}${artifactPath}`;
  };
  before = ota.stats.artifactBytesSent;
  t0 = Date.now();
  await pool(sites.map(urlFor));
  const cached = ota.stats.artifactBytesSent - before;
  const servedByCaches = caches.reduce((s, c) => s + c.stats.bytesServed, 0);
  const viaFleet = sites.filter((s) => s.kind !== 'district' && s.kind !== 'commune').length;
  say(
    `with district caches:    fleet sent ${cached} bytes (${mb(cached)}) = ${(cached / SIZE).toFixed(2)} artifacts ` +
      `(${districts.length} district caches + ${viaFleet} province-level boxes), caches served ${mb(servedByCaches)} to ${sites.length - viaFleet} boxes, ${Date.now() - t0} ms`,
  );
  say(`saving on the province link: ${(100 * (1 - cached / direct)).toFixed(1)}%`);
  say('');

  // 3. A link drop at 30%: resume with Range vs start again.
  const drop = async (resume: boolean): Promise<number> => {
    const dest = path.join(boxes, `drop-${resume}.part`);
    const start = ota.stats.artifactBytesSent;
    const ac = new AbortController();
    await download({
      urls: [`${fleetUrl}${artifactPath}`],
      dest,
      size: SIZE,
      signal: ac.signal,
      onProgress: (b) => {
        if (b >= SIZE * 0.3) ac.abort();
      },
    }).catch(() => undefined);
    const kept = fs.statSync(dest).size;
    if (!resume) fs.rmSync(dest);
    // Let the fleet's stream notice the closed socket before counting.
    await new Promise((r) => setTimeout(r, 200));
    await download({ urls: [`${fleetUrl}${artifactPath}`], dest, size: SIZE });
    const sha = createHash('sha256').update(fs.readFileSync(dest)).digest('hex');
    if (sha !== manifest.sha256) throw new Error('bad resumed download');
    fs.rmSync(dest);
    const sent = ota.stats.artifactBytesSent - start;
    say(
      `link drop at 30% (${kept} bytes on disk), ${resume ? 'resumed with Range' : 'restarted from zero'}: fleet sent ${sent} bytes, ` +
        `extra ${sent - SIZE} bytes (${((100 * (sent - SIZE)) / SIZE).toFixed(1)}% of the artifact)`,
    );
    return sent - SIZE;
  };
  await drop(true);
  await drop(false);
  say('');

  // 4. The optional bandwidth limit a rollout can set per box.
  const limit = 512 * 1024;
  const dest = path.join(boxes, 'limited.part');
  const t1 = Date.now();
  await download({ urls: [`${fleetUrl}${artifactPath}`], dest, size: SIZE, bandwidthLimit: limit });
  const secs = (Date.now() - t1) / 1000;
  fs.rmSync(dest);
  say(
    `bandwidth limit ${limit / 1024} KiB/s: ${mb(SIZE)} in ${secs.toFixed(2)} s = ${(SIZE / 1024 / secs).toFixed(0)} KiB/s`,
  );
  say('');
  say('(extra bytes after a resume are what the fleet had already pushed into the socket when the link dropped)');
} finally {
  for (const c of caches) await c.close();
  await fleet.close();
  fs.rmSync(dir, { recursive: true, force: true });
}

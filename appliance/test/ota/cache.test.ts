// The district cache: many communes asking at once cost the province's link
// one artifact; ranges are served from the cache; a resumed commune
// download gets the rest from it.
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import t from 'tap';
import { pino } from 'pino';
import { ArtifactCache } from '../../src/ota/cache-server.js';
import { download } from '../../src/ota/download.js';
import { buildArtifact, startOrigin, tmpDir } from './harness.js';

const dir = tmpDir('diemcau-ota-cache-');
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const origin = await startOrigin();
t.teardown(() => origin.close());
const a = buildArtifact(dir, '2.0.0', { padBytes: 512 * 1024 });
origin.add(a);
const cache = new ArtifactCache({
  dir: path.join(dir, 'cache'),
  upstream: origin.url,
  logger: pino({ level: 'silent' }),
});
t.teardown(() => cache.close());
const base = await cache.listen();
const url = `${base}/api/v1/releases/2.0.0/artifact`;
const sha = (f: string) => createHash('sha256').update(fs.readFileSync(f)).digest('hex');

t.test('ten communes at once: the origin sends the artifact once', async (t) => {
  await Promise.all(
    Array.from({ length: 10 }, async (_, i) => {
      const dest = path.join(dir, `commune-${i}.tar.gz`);
      await download({ urls: [url], dest, size: a.manifest.size });
      t.equal(sha(dest), a.manifest.sha256, `commune ${i} got the right bytes`);
    }),
  );
  t.equal(origin.bytesSent.get('2.0.0'), a.manifest.size, 'one artifact over the province link');
  t.equal(cache.stats.fetches, 1);
  t.equal(cache.stats.bytesServed, 10 * a.manifest.size);
});

t.test('a commune resumes from the cache with a range', async (t) => {
  const dest = path.join(dir, 'resume.tar.gz');
  fs.writeFileSync(dest, fs.readFileSync(a.file).subarray(0, 100_000));
  const before = cache.stats.bytesServed;
  const r = await download({ urls: [url], dest, size: a.manifest.size });
  t.equal(sha(dest), a.manifest.sha256);
  t.equal(r.received, a.manifest.size - 100_000, 'only the rest was fetched');
  t.equal(cache.stats.bytesServed - before, a.manifest.size - 100_000);
});

t.test('a dead cache falls through to the next source', async (t) => {
  const dest = path.join(dir, 'fallback.tar.gz');
  const r = await download({
    urls: ['http://127.0.0.1:9/api/v1/releases/2.0.0/artifact', origin.artifactUrl('2.0.0')],
    dest,
    size: a.manifest.size,
  });
  t.equal(r.source, origin.artifactUrl('2.0.0'));
  t.equal(sha(dest), a.manifest.sha256);
});

t.test('unknown paths and versions are refused, not crashed on', async (t) => {
  t.equal((await fetch(`${base}/etc/passwd`)).status, 404);
  t.equal((await fetch(`${base}/api/v1/releases/9.9.9/artifact`)).status, 502);
  t.equal((await fetch(url)).status, 200, 'still serving');
});

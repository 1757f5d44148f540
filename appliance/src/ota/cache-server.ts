// The district cache: a district box keeps the release artifacts it fetched
// and serves them to the communes below it, so each artifact crosses the
// province's link once per district instead of once per commune. It mirrors
// the fleet's artifact path (/api/v1/releases/<v>/artifact), fetches on the
// first request (one fetch per artifact however many communes ask at once,
// resumable like any other download) and serves byte ranges from disk.
// Integrity is not its job: every commune verifies hash and signature itself,
// and falls back to the fleet's URL after a bad artifact.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { download } from './download.js';
import { serveFile } from './serve-range.js';

export interface CacheServerOptions {
  dir: string;
  /** The fleet's base URL, e.g. http://fleet.example:8443 */
  upstream: string;
  host?: string;
  port?: number;
  logger: Logger;
}

const ARTIFACT = /^\/api\/v1\/releases\/(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]{1,40})?)\/artifact$/;

export class ArtifactCache {
  private server: http.Server | null = null;
  private readonly inflight = new Map<string, Promise<string>>();
  private closing: Promise<void> | null = null;
  readonly stats = { requests: 0, bytesServed: 0, bytesFetched: 0, fetches: 0, errors: 0 };
  private readonly log: Logger;

  constructor(private readonly o: CacheServerOptions) {
    this.log = o.logger.child({ module: 'ota-cache' });
  }

  /** Starts listening; resolves with the base URL communes should be given. */
  async listen(): Promise<string> {
    await fs.promises.mkdir(this.o.dir, { recursive: true });
    const server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.stats.errors++;
        this.log.warn({ err, url: req.url }, 'cache request failed');
        if (!res.headersSent) res.writeHead(502).end();
        else res.destroy();
      });
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(this.o.port ?? 0, this.o.host ?? '127.0.0.1', resolve));
    const a = server.address() as AddressInfo;
    return `http://${a.address}:${a.port}`;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const m = ARTIFACT.exec((req.url ?? '').split('?')[0] ?? '');
    if (!m || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404).end();
      return;
    }
    this.stats.requests++;
    const file = await this.ensure(m[1]!);
    await serveFile(req, res, file, (n) => (this.stats.bytesServed += n));
  }

  /** The cached file for a version, fetching it once if needed. */
  private ensure(version: string): Promise<string> {
    const file = path.join(this.o.dir, `${version}.tar.gz`);
    if (fs.existsSync(file)) return Promise.resolve(file);
    let p = this.inflight.get(version);
    if (!p) {
      p = this.fetch(version, file).finally(() => this.inflight.delete(version));
      this.inflight.set(version, p);
    }
    return p;
  }

  private async fetch(version: string, file: string): Promise<string> {
    const url = `${this.o.upstream.replace(/\/$/, '')}/api/v1/releases/${version}/artifact`;
    const size = await headSize(url);
    this.stats.fetches++;
    const part = `${file}.part`;
    const r = await download({ urls: [url], dest: part, size });
    this.stats.bytesFetched += r.received;
    await fs.promises.rename(part, file);
    this.log.info({ version, size }, 'cached artifact');
    return file;
  }

  close(): Promise<void> {
    if (!this.closing) {
      const server = this.server;
      this.closing = server
        ? new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          })
        : Promise.resolve();
    }
    return this.closing;
  }
}

function headSize(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'HEAD' }, (res) => {
      res.resume();
      const len = Number(res.headers['content-length']);
      if (res.statusCode !== 200 || !Number.isFinite(len) || len <= 0)
        reject(new Error(`HEAD ${url}: HTTP ${res.statusCode}`));
      else resolve(len);
    });
    req.on('error', reject);
    req.end();
  });
}

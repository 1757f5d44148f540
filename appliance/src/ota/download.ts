// Resumable artifact download over HTTP(S). The file on disk is the resume
// point: each attempt asks for `Range: bytes=<size on disk>-`, so a dropped
// link costs only what was in flight. Sources are tried in order (the
// district cache, then the fleet); a source that fails hands over to the next
// one with the same file, since the bytes are the same everywhere.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { DiemcauError } from '@diemcau/shared';

export interface DownloadOptions {
  urls: readonly string[];
  dest: string;
  size: number;
  /** Bytes per second; undefined means as fast as the link goes. */
  bandwidthLimit?: number;
  /** A stalled connection is dropped after this long without a byte. */
  idleTimeoutMs?: number;
  onProgress?: (bytes: number, total: number) => void | Promise<void>;
  signal?: AbortSignal;
}

export interface DownloadResult {
  /** Bytes received over the network in this call (resumes included). */
  received: number;
  source: string;
}

export async function download(opts: DownloadOptions): Promise<DownloadResult> {
  let received = 0;
  const errors: string[] = [];
  for (const url of opts.urls) {
    try {
      received += await fetchInto(url, opts);
      return { received, source: url };
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      errors.push(`${url}: ${(err as Error).message}`);
    }
  }
  throw new DiemcauError('APPL_ERR_OTA_DOWNLOAD', errors.join('; '));
}

const sizeOf = (file: string): number => {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
};

async function fetchInto(url: string, opts: DownloadOptions): Promise<number> {
  let offset = sizeOf(opts.dest);
  if (offset > opts.size) {
    await fs.promises.truncate(opts.dest, 0); // larger than the manifest says: start over
    offset = 0;
  }
  if (offset === opts.size) return 0;
  const res = await get(url, offset, opts);
  let received = 0;
  try {
    if (res.statusCode === 200 && offset > 0) {
      // The source ignored the range: the body starts at byte 0.
      await fs.promises.truncate(opts.dest, 0);
      offset = 0;
    } else if (res.statusCode !== 200 && res.statusCode !== 206) {
      throw new Error(`HTTP ${res.statusCode}`);
    }
    const fh = await fs.promises.open(opts.dest, offset === 0 ? 'w' : 'a');
    const started = Date.now();
    try {
      for await (const chunk of res as AsyncIterable<Buffer>) {
        const room = opts.size - offset;
        const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
        await fh.write(part);
        offset += part.length;
        received += chunk.length;
        if (opts.onProgress) await opts.onProgress(offset, opts.size);
        if (opts.bandwidthLimit) {
          // Sleep until the average rate falls back to the limit.
          const due = (received / opts.bandwidthLimit) * 1000 - (Date.now() - started);
          if (due > 0) await sleep(due, undefined, { signal: opts.signal });
        }
        if (offset >= opts.size) break;
      }
    } finally {
      await fh.close();
    }
  } finally {
    res.destroy();
  }
  if (offset < opts.size) throw new Error(`connection ended at ${offset} of ${opts.size} bytes`);
  return received;
}

function get(url: string, offset: number, opts: DownloadOptions): Promise<http.IncomingMessage> {
  const mod = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.get(
      url,
      { headers: offset > 0 ? { Range: `bytes=${offset}-` } : {}, signal: opts.signal },
      resolve,
    );
    req.on('error', reject);
    req.setTimeout(opts.idleTimeoutMs ?? 30_000, () => req.destroy(new Error('idle timeout')));
  });
}

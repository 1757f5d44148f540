// Serves one file over plain node:http with single byte ranges, which is all
// a resuming download asks for. Used by the district cache.
import fs from 'node:fs';
import type http from 'node:http';
import { parseByteRange } from '@diemcau/shared';

export async function serveFile(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  file: string,
  onBytes: (n: number) => void = () => undefined,
): Promise<void> {
  const size = (await fs.promises.stat(file)).size;
  const range = parseByteRange(req.headers.range, size);
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('Content-Type', 'application/gzip');
  if (range === 'unsatisfiable') {
    res.writeHead(416, { 'Content-Range': `bytes */${size}` }).end();
    return;
  }
  const { start, end } = range ?? { start: 0, end: size - 1 };
  res.writeHead(range ? 206 : 200, {
    'Content-Length': String(end - start + 1),
    ...(range ? { 'Content-Range': `bytes ${start}-${end}/${size}` } : {}),
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const stream = fs.createReadStream(file, { start, end });
  stream.on('data', (chunk) => onBytes(chunk.length));
  await new Promise<void>((resolve) => {
    stream.on('error', () => {
      res.destroy();
      resolve();
    });
    res.on('close', () => {
      stream.destroy();
      resolve();
    });
    stream.pipe(res);
  });
}

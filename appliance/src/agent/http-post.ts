import http from 'node:http';
import https from 'node:https';

// One JSON POST over HTTP or HTTPS with node's own client, because the global
// fetch cannot be told to trust a private CA (the province signs the fleet's
// certificate itself; the box gets that CA from its bootstrap or a file).

export interface PostOptions {
  /** PEM of the CA(s) to trust for https, instead of the system store. */
  ca?: string | undefined;
  signal?: AbortSignal | undefined;
  timeoutMs: number;
}

export interface PostResult {
  status: number;
  body: string;
}

/** Largest answer read; an enrolment answer is a few hundred bytes. */
const MAX_BODY = 1024 * 1024;

export function postJson(url: string, body: unknown, opts: PostOptions): Promise<PostResult> {
  const u = new URL(url);
  const data = Buffer.from(JSON.stringify(body));
  const lib = u.protocol === 'https:' ? https : http;
  const signal = AbortSignal.any([AbortSignal.timeout(opts.timeoutMs), ...(opts.signal ? [opts.signal] : [])]);
  return new Promise<PostResult>((resolve, reject) => {
    const req = lib.request(
      u,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': data.length },
        signal,
        ...(u.protocol === 'https:' && opts.ca ? { ca: opts.ca } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY) req.destroy(new Error(`answer over ${MAX_BODY} bytes`));
          else chunks.push(c);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

// One HTTP(S) request to an edge's signalling API, trusting a given CA.
// Node's global fetch takes no CA of its own (only NODE_EXTRA_CA_CERTS, read
// once at process start), so the edge's clients go through node:http(s) here:
// a downstream edge calling its upstream, the agent calling its edge.
import http from 'node:http';
import https from 'node:https';
import { DiemcauError } from '@diemcau/shared';

export interface SignalRequest {
  method: string;
  headers?: Record<string, string>;
  body?: string;
  /** PEM of the CA to trust for https URLs (in addition to none: the system roots are not used when given). */
  ca?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface SignalResponse {
  status: number;
  /** The body as it arrives (event streams); read it once, or call text(). */
  body: http.IncomingMessage;
  text(): Promise<string>;
}

/** Resolves once the response headers arrive; the body stays open for the caller. */
export function signalRequest(url: string, o: SignalRequest): Promise<SignalResponse> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const body = o.body === undefined ? undefined : Buffer.from(o.body);
    const headers = { ...o.headers, ...(body ? { 'content-length': String(body.length) } : {}) };
    const opts: https.RequestOptions = { method: o.method, headers, ...(o.signal ? { signal: o.signal } : {}) };
    let req: http.ClientRequest;
    const onResponse = (res: http.IncomingMessage): void => {
      if (timer) clearTimeout(timer);
      resolve({
        status: res.statusCode ?? 0,
        body: res,
        text: async () => {
          const chunks: Buffer[] = [];
          for await (const c of res) chunks.push(c as Buffer);
          return Buffer.concat(chunks).toString('utf8');
        },
      });
    };
    if (u.protocol === 'https:') req = https.request(u, { ...opts, ...(o.ca ? { ca: o.ca } : {}) }, onResponse);
    else if (u.protocol === 'http:') req = http.request(u, opts, onResponse);
    else return reject(new DiemcauError('APPL_ERR_MEDIA', `not an http(s) URL: ${url}`));
    // Until the headers arrive; an event stream's body is watched by its reader.
    const timer = o.timeoutMs
      ? setTimeout(
          () => req.destroy(new DiemcauError('APPL_ERR_MEDIA', `${o.method} ${u.pathname} timed out`)),
          o.timeoutMs,
        )
      : null;
    req.once('error', (err) => {
      if (timer) clearTimeout(timer);
      reject(err);
    });
    req.end(body);
  });
}

/**
 * An exchange that got no whole answer in its time: the peer may be slow or
 * its answer lost, and it may or may not have taken the request in.
 */
export class SignalTimeout extends DiemcauError {
  constructor(method: string, url: string, timeoutMs: number, cause: unknown) {
    super('APPL_ERR_MEDIA', `${method} ${new URL(url).pathname} got no answer within ${timeoutMs} ms`, { cause });
  }
}

/** A whole JSON-or-empty exchange: status and text, the body read to its end. */
export async function signalCall(
  url: string,
  o: SignalRequest & { timeoutMs: number },
): Promise<{ status: number; text: string }> {
  // The whole exchange, body included, within the time.
  const timeout = AbortSignal.timeout(o.timeoutMs);
  try {
    const res = await signalRequest(url, { ...o, signal: o.signal ? AbortSignal.any([o.signal, timeout]) : timeout });
    return { status: res.status, text: await res.text() };
  } catch (err) {
    // Our own time ran out (not the caller's abort): say so, so that the caller may try again.
    if (timeout.aborted && !o.signal?.aborted) throw new SignalTimeout(o.method, url, o.timeoutMs, err);
    throw err;
  }
}

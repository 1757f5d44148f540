// Small HTTP helpers for the signalling server: bounded JSON bodies, JSON
// answers, bearer tokens compared in constant time, errors as {code, message}.
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DiemcauError, MAX_PAYLOAD_BYTES, isDiemcauError, type Codec } from '@diemcau/shared';
import type { TSchema, Static } from '@sinclair/typebox';

export async function readBody<S extends TSchema>(req: IncomingMessage, c: Codec<S>): Promise<Static<S>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_PAYLOAD_BYTES) throw new DiemcauError('PROTO_ERR_TOO_LARGE', `body over ${MAX_PAYLOAD_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  const decoded = c.decode(Buffer.concat(chunks));
  if (!decoded.ok) throw decoded.error;
  return decoded.value;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return void res.end();
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendText(res: ServerResponse, contentType: string, text: string): void {
  res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function bearer(req: IncomingMessage): string | null {
  const h = req.headers.authorization;
  return h?.startsWith('Bearer ') ? h.slice(7) : null;
}

export function sameToken(given: string | null, expected: string | null): boolean {
  if (given === null || expected === null) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Maps any thrown value to a status and a body; 5xx only for our own faults. */
export function errorBody(err: unknown): { status: number; body: { code: string; message: string; reason?: string } } {
  if (isDiemcauError(err)) {
    // A refusal names its counted reason (limits.ts), so the caller learns which limit or rule it met.
    const reason = (err.details as { reason?: unknown } | undefined)?.reason;
    return { status: err.statusCode, body: { code: err.code, message: err.message, ...(typeof reason === 'string' ? { reason } : {}) } };
  }
  const e = new DiemcauError('APPL_ERR_MEDIA', 'internal error', { cause: err });
  return { status: 500, body: { code: e.code, message: e.message } };
}

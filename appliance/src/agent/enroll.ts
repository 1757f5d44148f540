import { codec, DiemcauError, EnrollResponseSchema, type EnrollRequest, type EnrollResponse } from '@diemcau/shared';
import { backoffDelay, sleep, type BackoffPolicy } from './backoff.js';

// Enrolment over HTTP(S). A box often boots before its link is up, so network
// failures and 5xx/429 are retried with backoff for as long as it takes; a 4xx
// (token unknown, used or expired) is final: retrying cannot fix it, a person must.

const responseCodec = codec(EnrollResponseSchema);

export interface EnrollOptions {
  fleetUrl: string;
  request: EnrollRequest;
  signal?: AbortSignal;
  backoff?: BackoffPolicy;
  /** Called before each wait, so the caller can log why. */
  onRetry?: (info: { attempt: number; delayMs: number; reason: string }) => void;
  timeoutMs?: number;
}

class Retryable extends Error {}

async function enrollOnce(opts: EnrollOptions): Promise<EnrollResponse> {
  const url = `${opts.fleetUrl.replace(/\/+$/, '')}/api/v1/enroll`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(opts.request),
      signal: AbortSignal.any([AbortSignal.timeout(opts.timeoutMs ?? 15_000), ...(opts.signal ? [opts.signal] : [])]),
    });
  } catch (err) {
    throw new Retryable(`${url}: ${(err as Error).message}`, { cause: err });
  }
  const body = await res.text().catch(() => '');
  if (res.status >= 500 || res.status === 429) throw new Retryable(`${url}: HTTP ${res.status} ${body.slice(0, 200)}`);
  if (!res.ok) {
    throw new DiemcauError('APPL_ERR_ENROLL', `HTTP ${res.status} ${body.slice(0, 500)}`, { details: { status: res.status } });
  }
  const r = responseCodec.decode(body);
  // A fleet answering garbage is probably mid-upgrade: try again later.
  if (!r.ok) throw new Retryable(`${url}: bad response: ${r.error.message}`);
  return r.value;
}

/** Enrols, retrying transient failures until it works, `signal` aborts, or the fleet says no. */
export async function enroll(opts: EnrollOptions): Promise<EnrollResponse> {
  for (let attempt = 0; ; attempt++) {
    if (opts.signal?.aborted) throw new DiemcauError('APPL_ERR_ENROLL', 'aborted');
    try {
      return await enrollOnce(opts);
    } catch (err) {
      if (!(err instanceof Retryable)) throw err;
      const delayMs = backoffDelay(attempt, opts.backoff);
      opts.onRetry?.({ attempt, delayMs, reason: err.message });
      await sleep(delayMs, opts.signal);
    }
  }
}

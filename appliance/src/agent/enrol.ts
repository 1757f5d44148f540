import { codec, DiemcauError, EnrolResponseSchema, type EnrolRequest, type EnrolResponse } from '@diemcau/shared';
import { backoffDelay, sleep, type BackoffPolicy } from '../backoff.js';
import { postJson, type PostResult } from './http-post.js';

// Enrolment over HTTP(S). A box often boots before its link is up, so network
// failures and 5xx/429 are retried with backoff for as long as it takes; a 4xx
// (token unknown, used or expired) is final: retrying cannot fix it, a person must.
// Enrolment is not idempotent: a request that timed out here may still have
// used up one use of the token on the fleet, so the timeout is generous.

const responseCodec = codec(EnrolResponseSchema);

export interface EnrolOptions {
  fleetUrl: string;
  request: EnrolRequest;
  signal?: AbortSignal;
  backoff?: BackoffPolicy;
  /** Called before each wait, so the caller can log why. */
  onRetry?: (info: { attempt: number; delayMs: number; reason: string }) => void;
  timeoutMs?: number;
  /** PEM of the CA that signed an https fleet's certificate (bootstrap caCert or DIEMCAU_CA_FILE). */
  ca?: string | undefined;
}

class Retryable extends Error {}

async function enrolOnce(opts: EnrolOptions): Promise<EnrolResponse> {
  const url = `${opts.fleetUrl.replace(/\/+$/, '')}/api/v1/enroll`;
  let res: PostResult;
  try {
    // A certificate the CA does not vouch for fails here too and is retried:
    // it may be a captive portal or a fleet mid-renewal, and a person can fix it.
    res = await postJson(url, opts.request, { ca: opts.ca, signal: opts.signal, timeoutMs: opts.timeoutMs ?? 15_000 });
  } catch (err) {
    throw new Retryable(`${url}: ${(err as Error).message}`, { cause: err });
  }
  const { body } = res;
  if (res.status >= 500 || res.status === 429) throw new Retryable(`${url}: HTTP ${res.status} ${body.slice(0, 200)}`);
  if (res.status < 200 || res.status >= 300) {
    throw new DiemcauError('APPL_ERR_ENROLL', `HTTP ${res.status} ${body.slice(0, 500)}`, {
      details: { status: res.status },
    });
  }
  const r = responseCodec.decode(body);
  // A fleet answering garbage is probably mid-upgrade: try again later.
  if (!r.ok) throw new Retryable(`${url}: bad response: ${r.error.message}`);
  return r.value;
}

/** Enrols, retrying transient failures until it works, `signal` aborts, or the fleet says no. */
export async function enrol(opts: EnrolOptions): Promise<EnrolResponse> {
  for (let attempt = 0; ; attempt++) {
    if (opts.signal?.aborted) throw new DiemcauError('APPL_ERR_ENROLL', 'aborted');
    try {
      return await enrolOnce(opts);
    } catch (err) {
      if (!(err instanceof Retryable)) throw err;
      const delayMs = backoffDelay(attempt, opts.backoff);
      opts.onRetry?.({ attempt, delayMs, reason: err.message });
      await sleep(delayMs, opts.signal);
    }
  }
}

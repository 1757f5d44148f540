import { DiemcauError, isDiemcauError, type ErrorCode } from './errors.js';

// How an error thrown while answering an HTTP request becomes the answer, for
// every program that serves HTTP (the fleet's API, the media edge): one shape,
// `{ code, message }` with a code of the registry, and one rule for what is
// whose fault. Each program brings its own table of codes; the rule is here.

/** Which registry code stands for a framework's own refusals, per program. */
export interface HttpErrorTable {
  /** A framework error by its own code (fastify's `FST_ERR_*`), checked before its status. */
  byFrameworkCode?: Readonly<Partial<Record<string, ErrorCode>>>;
  /** A framework error by its HTTP status (4xx only: a 5xx is always `internal`). */
  byStatus: Readonly<Partial<Record<number, ErrorCode>>>;
  /** A request that failed its schema (fastify's `validation`). */
  invalid: ErrorCode;
  /** Anything else: our own fault, answered 500 without its details. */
  internal: ErrorCode;
}

/** What a framework's error carries (fastify's FastifyError, structurally: shared has no fastify). */
interface FrameworkError {
  message?: unknown;
  statusCode?: unknown;
  code?: unknown;
  validation?: unknown;
}

/**
 * Any thrown value as a DiemcauError: ours as they are, a framework's refusal
 * (4xx) by its code or status, anything else internal with the original kept
 * as `cause` (logged, never sent).
 */
export function toHttpError(err: unknown, table: HttpErrorTable): DiemcauError {
  if (isDiemcauError(err)) return err;
  const fe = (typeof err === 'object' && err !== null ? err : {}) as FrameworkError;
  const message = typeof fe.message === 'string' ? fe.message : undefined;
  if (fe.validation) return new DiemcauError(table.invalid, message, { cause: err });
  const status = typeof fe.statusCode === 'number' ? fe.statusCode : 500;
  if (status < 500) {
    const code = (typeof fe.code === 'string' ? table.byFrameworkCode?.[fe.code] : undefined) ?? table.byStatus[status];
    if (code) return new DiemcauError(code, message, { cause: err });
  }
  return new DiemcauError(table.internal, undefined, { cause: err });
}

// Every refusal of the edge leaves as `{ code, message, reason? }` with a code
// of the shared registry, by the same rule as the fleet's API
// (shared/src/http-errors.ts); `reason` names the counted limit or rule a
// refusal met (limits.ts), so the caller learns which one. Each refusal is
// counted by code (GET /media/v1/refusals), client errors logged at info,
// our own faults at error with their cause. Bad input never ends the process.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { DiemcauError, toHttpError, type HttpErrorTable } from '@diemcau/shared';

/** The edge's codes for fastify's own refusals. */
export const EDGE_HTTP_ERRORS: HttpErrorTable = {
  byFrameworkCode: {
    FST_ERR_CTP_INVALID_JSON_BODY: 'PROTO_ERR_NOT_JSON',
    FST_ERR_CTP_EMPTY_JSON_BODY: 'PROTO_ERR_NOT_JSON',
    FST_ERR_CTP_INVALID_MEDIA_TYPE: 'PROTO_ERR_NOT_JSON',
    FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'PROTO_ERR_SCHEMA',
    FST_ERR_CTP_BODY_TOO_LARGE: 'PROTO_ERR_TOO_LARGE',
    // A path parameter with a malformed escape (`%zz`, a lone surrogate) names nothing here.
    FST_ERR_BAD_URL: 'APPL_ERR_MEDIA_NOT_FOUND',
    FST_ERR_MAX_PARAM_LENGTH: 'APPL_ERR_MEDIA_NOT_FOUND',
  },
  byStatus: {
    400: 'PROTO_ERR_SCHEMA',
    401: 'APPL_ERR_MEDIA_UNAUTHORIZED',
    403: 'APPL_ERR_MEDIA_FORBIDDEN',
    404: 'APPL_ERR_MEDIA_NOT_FOUND',
    409: 'APPL_ERR_MEDIA_CONFLICT',
    413: 'PROTO_ERR_TOO_LARGE',
    415: 'PROTO_ERR_NOT_JSON',
    429: 'APPL_ERR_MEDIA_LIMIT',
  },
  invalid: 'PROTO_ERR_SCHEMA',
  internal: 'APPL_ERR_MEDIA',
};

export interface ErrorBody {
  code: string;
  message: string;
  reason?: string;
}

export function errorBody(e: DiemcauError): ErrorBody {
  const reason = (e.details as { reason?: unknown } | undefined)?.reason;
  return { code: e.code, message: e.message, ...(typeof reason === 'string' ? { reason } : {}) };
}

/**
 * How every failed request is answered. `refused` counts each refusal by
 * code; a missing route is one too (a scanner shows up there).
 */
export function errorAnswers(
  refused: Map<string, number>,
  log: Logger,
): (err: unknown, req: FastifyRequest, reply: FastifyReply) => void {
  return (err, req, reply) => {
    const e = toHttpError(err, EDGE_HTTP_ERRORS);
    refused.set(e.code, (refused.get(e.code) ?? 0) + 1);
    // The target as sent (bounded: it may be anything a client wrote).
    const line = {
      method: req.raw.method,
      path: (req.raw.url ?? '').slice(0, 200),
      status: e.statusCode,
      code: e.code,
    };
    if (e.statusCode >= 500) log.error({ ...line, err }, 'request failed');
    else log.info(line, 'request refused');
    // A response already under way (an event stream) cannot take an error answer.
    if (reply.sent || reply.raw.headersSent) {
      if (!reply.raw.writableEnded) reply.raw.end();
      return;
    }
    void reply.status(e.statusCode).header('cache-control', 'no-store').send(errorBody(e));
  };
}

/**
 * Error and not-found handlers on the edge's root instance (fastify's
 * `frameworkErrors` option, for targets its router cannot read, takes the
 * same `answer`).
 */
export function installErrorHandling(app: FastifyInstance, answer: ReturnType<typeof errorAnswers>): void {
  app.setErrorHandler((err: FastifyError | DiemcauError | Error, req, reply) => answer(err, req, reply));
  app.setNotFoundHandler((req, reply) =>
    answer(new DiemcauError('APPL_ERR_MEDIA_NOT_FOUND', 'no such route'), req, reply),
  );
}

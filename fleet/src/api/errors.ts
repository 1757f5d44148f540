import type { FastifyError, FastifyInstance } from 'fastify';
import { DiemcauError, toHttpError, type HttpErrorTable } from '@diemcau/shared';

/**
 * Every error leaves as `{ code, message }` with a stable DiemcauError code.
 * Client errors are logged at info, server errors at error (with the stack),
 * and every rejection is counted by code.
 */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | DiemcauError | Error, request, reply) => {
    const e = toDiemcauError(err);
    app.fleet.metrics.httpRejected.inc({ code: e.code });
    if (e.statusCode >= 500) request.log.error({ err }, 'request failed');
    else request.log.info({ code: e.code, reason: e.message }, 'request rejected');
    void reply.status(e.statusCode).send(e.toJSON());
  });

  app.setNotFoundHandler((request, reply) => {
    app.fleet.metrics.httpRejected.inc({ code: 'FLEET_ERR_NOT_FOUND' });
    void reply.status(404).send(new DiemcauError('FLEET_ERR_NOT_FOUND', `${request.method} ${request.url}`).toJSON());
  });
}

/** The fleet's codes for fastify's own refusals (the rule is shared/src/http-errors.ts). */
const FLEET_HTTP_ERRORS: HttpErrorTable = {
  byStatus: {
    400: 'FLEET_ERR_BAD_REQUEST',
    401: 'FLEET_ERR_UNAUTHORIZED',
    403: 'FLEET_ERR_FORBIDDEN',
    404: 'FLEET_ERR_NOT_FOUND',
    409: 'FLEET_ERR_CONFLICT',
    413: 'PROTO_ERR_TOO_LARGE',
    415: 'FLEET_ERR_BAD_REQUEST',
    429: 'FLEET_ERR_RATE_LIMITED',
  },
  invalid: 'FLEET_ERR_BAD_REQUEST',
  internal: 'FLEET_ERR_INTERNAL',
};

export const toDiemcauError = (err: unknown): DiemcauError => toHttpError(err, FLEET_HTTP_ERRORS);

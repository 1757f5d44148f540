import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { Counter } from 'prom-client';
import { DiemcauError, EnrolRequestSchema, EnrolResponseSchema } from '@diemcau/shared';
import { EnrolRefused, enrolDevice } from '../devices/enrol.js';
import { FailureLimiter } from './failure-limiter.js';

export const enrolRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { fleet } = app;
  const limiter = new FailureLimiter(fleet.config.enrollMaxFailuresPerMin, 60_000);
  const registers = [fleet.metrics.registry];
  const enrolled = new Counter({
    name: 'diemcau_enrolments_total',
    help: 'Boxes enrolled, by path (token, serial) and kind (new, reimage)',
    labelNames: ['by', 'kind'],
    registers,
  });
  const refused = new Counter({
    name: 'diemcau_enrolments_refused_total',
    help: 'Enrolments refused, by reason',
    labelNames: ['reason'],
    registers,
  });
  const log = fleet.log.child({ module: 'enrol' });

  app.post(
    '/enroll',
    {
      config: { public: true },
      schema: {
        tags: ['enrolment'],
        summary: 'A box joins with a site token or a pre-registered serial; returns its MQTT credentials',
        description:
          'A token makes a new device in its site and never adopts a device that has the same serial. ' +
          'A device keeps its id across a re-image only through a pre-registration of its serial for its own site; ' +
          'enrolling spends that pre-registration. A revoked device is never brought back.',
        body: EnrolRequestSchema,
        response: {
          200: EnrolResponseSchema,
          400: Type.Ref('Error'),
          401: Type.Ref('Error'),
          404: Type.Ref('Error'),
          409: Type.Ref('Error'),
          429: Type.Ref('Error'),
        },
      },
    },
    async (request) => {
      if (limiter.blocked(request.ip, Date.now())) {
        refused.inc({ reason: 'rate-limited' });
        throw new DiemcauError('FLEET_ERR_RATE_LIMITED', 'too many failed enrolments from this address; wait a minute');
      }
      // Devices reach the broker by the same name they reached us by, unless
      // DIEMCAU_PUBLIC_MQTT_URL says otherwise.
      const host = request.hostname.replace(/:\d+$/, '') || '127.0.0.1';
      const by = request.body.token !== undefined ? 'token' : 'serial';
      try {
        const res = await enrolDevice(fleet, request.body, host);
        enrolled.inc({ by: res.by, kind: res.reenrolled ? 'reimage' : 'new' });
        await fleet.repos.audit.record({
          operatorId: null,
          operatorName: null,
          action: res.reenrolled ? 'device.reenrol' : 'device.enrol',
          target: `device:${res.deviceId}`,
          outcome: 'ok',
          details: { siteId: res.siteId, serial: res.serial, by: res.by, ip: request.ip },
        });
        const { reenrolled: _r, by: _b, serial: _s, ...out } = res;
        return out;
      } catch (err) {
        if (!(err instanceof EnrolRefused)) throw err;
        // Every refusal counts toward the address's limit: guessing tokens,
        // probing serials with a good token, replaying a spent one.
        limiter.fail(request.ip, Date.now());
        refused.inc({ reason: err.reason });
        log.info({ reason: err.reason, code: err.code, by, serial: err.serial, ip: request.ip }, 'enrolment refused');
        // Refusals of a caller who held a valid token or an armed
        // pre-registration are rare and say someone tried to claim a serial:
        // each is audited. Credential-less guesses are only counted and
        // logged, so that they cannot flood the audit log.
        if (err.credentialed) {
          await fleet.repos.audit.record({
            operatorId: null,
            operatorName: null,
            action: 'device.enrol',
            target: err.serial !== null ? `serial:${err.serial}` : null,
            outcome: 'refused',
            details: { reason: err.reason, by, ip: request.ip },
          });
        }
        throw err;
      }
    },
  );
};

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { DiemcauError, EnrollRequestSchema, EnrollResponseSchema, isDiemcauError } from '@diemcau/shared';
import { enrolDevice } from '../devices/enrol.js';
import { FailureLimiter } from './failure-limiter.js';

export const enrollRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const limiter = new FailureLimiter(app.fleet.config.enrollMaxFailuresPerMin, 60_000);
  app.post(
    '/enroll',
    {
      config: { public: true },
      schema: {
        tags: ['enrolment'],
        summary: 'A box joins with a site token or a pre-registered serial; returns its MQTT credentials',
        body: EnrollRequestSchema,
        response: { 200: EnrollResponseSchema, 400: Type.Ref('Error'), 401: Type.Ref('Error'), 404: Type.Ref('Error'), 429: Type.Ref('Error') },
      },
    },
    async (request) => {
      if (limiter.blocked(request.ip, Date.now())) {
        throw new DiemcauError('FLEET_ERR_RATE_LIMITED', 'too many failed enrolments from this address; wait a minute');
      }
      // Devices reach the broker by the same name they reached us by, unless
      // DIEMCAU_PUBLIC_MQTT_URL says otherwise.
      const host = request.hostname.replace(/:\d+$/, '') || '127.0.0.1';
      const res = await enrolDevice(app.fleet, request.body, host).catch((err: unknown) => {
        if (isDiemcauError(err) && err.code === 'FLEET_ERR_TOKEN_INVALID') limiter.fail(request.ip, Date.now());
        throw err;
      });
      app.fleet.repos.audit.record({
        operatorId: null,
        operatorName: null,
        action: res.reenrolled ? 'device.reenrol' : 'device.enrol',
        target: `device:${res.deviceId}`,
        outcome: 'ok',
        details: { siteId: res.siteId, serial: request.body.hardware.serial ?? null, by: request.body.token ? 'token' : 'serial', ip: request.ip },
      });
      const { reenrolled: _r, ...out } = res;
      return out;
    },
  );
};

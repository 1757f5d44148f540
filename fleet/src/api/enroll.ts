import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { EnrollRequestSchema, EnrollResponseSchema } from '@diemcau/shared';
import { enrolDevice } from '../devices/enrol.js';
import { Type } from '@sinclair/typebox';

export const enrollRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/enroll',
    {
      config: { public: true },
      schema: {
        tags: ['enrolment'],
        summary: 'A box joins with a site token or a pre-registered serial; returns its MQTT credentials',
        body: EnrollRequestSchema,
        response: { 200: EnrollResponseSchema, 400: Type.Ref('Error'), 401: Type.Ref('Error'), 404: Type.Ref('Error') },
      },
    },
    async (request) => {
      // Devices reach the broker by the same name they reached us by, unless
      // DIEMCAU_PUBLIC_MQTT_URL says otherwise.
      const host = request.hostname.replace(/:\d+$/, '') || '127.0.0.1';
      const res = await enrolDevice(app.fleet, request.body, host);
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

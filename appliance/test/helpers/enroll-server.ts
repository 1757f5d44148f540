import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import type { EnrollRequest, EnrollResponse } from '@diemcau/shared';

// A real fastify endpoint speaking the enrolment protocol, standing in for the
// fleet where a test needs only that: tokens are single-use, the issued MQTT
// credentials go into `credentials` for the test broker to check.

export interface EnrollServer {
  url: string;
  app: FastifyInstance;
  credentials: Map<string, string>;
  requests: EnrollRequest[];
  /** Returns a fresh single-use token for `siteId`. */
  mint(siteId: string): string;
  close(): Promise<void>;
}

export async function startEnrollServer(opts: { mqttUrl: () => string; credentials?: Map<string, string> }): Promise<EnrollServer> {
  const credentials = opts.credentials ?? new Map<string, string>();
  const tokens = new Map<string, string>();
  const requests: EnrollRequest[] = [];
  let n = 0;
  const app = Fastify({ logger: false });
  app.post<{ Body: EnrollRequest }>('/api/v1/enroll', async (req, reply) => {
    requests.push(req.body);
    const siteId = req.body.token ? tokens.get(req.body.token) : undefined;
    if (!siteId) return reply.code(401).send({ code: 'FLEET_ERR_TOKEN_INVALID', message: 'enrolment token is unknown, used up or expired' });
    tokens.delete(req.body.token!);
    const deviceId = `dev-${++n}-${randomBytes(3).toString('hex')}`;
    const password = randomBytes(12).toString('hex');
    credentials.set(deviceId, password);
    const res: EnrollResponse = { deviceId, siteId, siteName: `Site ${siteId}`, mqtt: { url: opts.mqttUrl(), username: deviceId, password } };
    return res;
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url,
    app,
    credentials,
    requests,
    mint(siteId) {
      const t = randomBytes(16).toString('hex');
      tokens.set(t, siteId);
      return t;
    },
    close: () => app.close(),
  };
}

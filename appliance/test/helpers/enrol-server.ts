import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import type { EnrolRequest, EnrolResponse, FleetTrust } from '@diemcau/shared';

// A real fastify endpoint speaking the enrolment protocol, standing in for the
// fleet where a test needs only that: tokens are single-use, the issued MQTT
// credentials go into `credentials` for the test broker to check.

export interface EnrolServer {
  url: string;
  app: FastifyInstance;
  credentials: Map<string, string>;
  requests: EnrolRequest[];
  /** Tokens minted through the API, with their uses. */
  minted: { siteId: string; uses: number }[];
  /** Returns a fresh single-use token for `siteId`. */
  mint(siteId: string): string;
  close(): Promise<void>;
}

export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789';

export async function startEnrolServer(opts: {
  mqttUrl: () => string;
  credentials?: Map<string, string>;
  sites?: string[];
  /** The first N enrolments spend their token's use and then answer 503, as a fleet whose answer was lost would. */
  loseAnswers?: number;
  /** The fleet key handed to boxes (a move must be signed with it). */
  trust?: FleetTrust;
}): Promise<EnrolServer> {
  let lose = opts.loseAnswers ?? 0;
  const credentials = opts.credentials ?? new Map<string, string>();
  const tokens = new Map<string, string>();
  const uses = new Map<string, number>();
  const requests: EnrolRequest[] = [];
  let n = 0;
  const app = Fastify({ logger: false });
  app.post<{ Body: EnrolRequest }>('/api/v1/enroll', async (req, reply) => {
    requests.push(req.body);
    const siteId = req.body.token ? tokens.get(req.body.token) : undefined;
    if (!siteId)
      return reply
        .code(401)
        .send({ code: 'FLEET_ERR_TOKEN_INVALID', message: 'enrolment token is unknown, used up or expired' });
    const left = (uses.get(req.body.token!) ?? 1) - 1;
    if (left <= 0) tokens.delete(req.body.token!);
    else uses.set(req.body.token!, left);
    if (lose > 0) {
      lose--;
      return reply.code(503).send({ code: 'FLEET_ERR_INTERNAL', message: 'answer lost' });
    }
    const deviceId = `dev-${++n}-${randomBytes(3).toString('hex')}`;
    const password = randomBytes(12).toString('hex');
    credentials.set(deviceId, password);
    const res: EnrolResponse = {
      deviceId,
      siteId,
      siteName: `Site ${siteId}`,
      mqtt: { url: opts.mqttUrl(), username: deviceId, password },
      ...(opts.trust ? { trust: opts.trust } : {}),
    };
    return res;
  });
  // The two operator calls the simulator makes.
  const admin = (auth: string | undefined): boolean => auth === `Bearer ${TEST_ADMIN_TOKEN}`;
  app.get('/api/v1/sites', async (req, reply) => {
    if (!admin(req.headers.authorization)) return reply.code(401).send({ code: 'FLEET_ERR_UNAUTHORIZED' });
    return { items: (opts.sites ?? []).map((id) => ({ id, name: `Site ${id}`, kind: 'commune', parentId: null })) };
  });
  app.post<{ Params: { siteId: string }; Body: { uses?: number } | undefined }>(
    '/api/v1/sites/:siteId/enrollment-tokens',
    async (req, reply) => {
      if (!admin(req.headers.authorization)) return reply.code(401).send({ code: 'FLEET_ERR_UNAUTHORIZED' });
      const t = randomBytes(16).toString('hex');
      tokens.set(t, req.params.siteId);
      uses.set(t, req.body?.uses ?? 1);
      minted.push({ siteId: req.params.siteId, uses: req.body?.uses ?? 1 });
      return reply.code(201).send({ token: t, expiresAt: new Date(Date.now() + 3600_000).toISOString() });
    },
  );
  const minted: { siteId: string; uses: number }[] = [];
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url,
    app,
    credentials,
    requests,
    minted,
    mint(siteId) {
      const t = randomBytes(16).toString('hex');
      tokens.set(t, siteId);
      return t;
    },
    close: () => app.close(),
  };
}

// A fleet-shaped host for the meetings area: real SQLite file in a temp dir,
// the real embedded broker on an ephemeral port, the spine's ingest router,
// fastify with inject(). Devices log in over MQTT with real credentials.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { DiemcauError, type Site } from '@diemcau/shared';
import { FleetBroker } from '../../src/broker/broker.js';
import { IngestRouter } from '../../src/broker/ingest.js';
import type { FleetDb } from '../../src/db/database.js';
import { SqliteDb } from '../../src/db/sqlite.js';
import { DevicesRepo } from '../../src/db/devices-repo.js';
import { hashPassword } from '../../src/db/secrets.js';
import { SitesRepo } from '../../src/db/sites-repo.js';
import { createMetrics } from '../../src/metrics.js';
import type { Fence } from '../../src/cluster/leadership.js';
import { yenBaiSites } from '../../src/seeds/yen-bai.js';
import {
  createMeetings,
  type Meetings,
  type MeetingOperator,
  type MeetingsConfig,
} from '../../src/meetings/compose.js';

export const OPERATORS: Record<string, MeetingOperator> = {
  admin: { id: 'op-admin', role: 'admin', area: null },
  viewer: { id: 'op-viewer', role: 'viewer', area: null },
};

export interface Harness {
  app: FastifyInstance;
  meetings: Meetings;
  broker: FleetBroker;
  db: FleetDb;
  sites: Site[];
  clock: { t: number };
  /** Temp dir of this harness (the core's plan file is core/plan.json in it). */
  dir: string;
  /** Device id of the box at a site. */
  deviceOf(siteId: string): string;
  /** Connects as a site's box (only the boxes listed in `online` have passwords). */
  connect(siteId: string): Promise<MqttClient>;
  /** A fresh meetings module over the same database and broker (a fleet restart). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

const PASSWORD = 'device-password-for-tests-only-0123456789';

export async function harness(opts: {
  online: string[];
  config?: Partial<MeetingsConfig>;
  addOperators?: Record<string, MeetingOperator>;
  /** Real time and the module's own timer, instead of a clock the test moves. */
  realTime?: boolean;
  /** The lead as a cluster node sees it (one node always leads when absent). */
  isLeader?: () => boolean;
  fence?: Fence;
}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'diemcau-meetings-'));
  const log = pino({ level: 'silent' });
  const db = await SqliteDb.open(join(dir, 'fleet.sqlite'), log);
  const sitesRepo = new SitesRepo(db);
  const devicesRepo = new DevicesRepo(db);
  const sites = yenBaiSites();
  await sitesRepo.upsertMany(sites);
  const deviceOf = (siteId: string) => `box-${siteId}`.slice(0, 64);
  // scrypt only for the boxes that log in; the others never do.
  const hash = await hashPassword(PASSWORD);
  for (const s of sites) {
    await devicesRepo.insert({
      id: deviceOf(s.id),
      siteId: s.id,
      serial: null,
      passwordHash: opts.online.includes(s.id) ? hash : 'unused',
    });
  }
  const metrics = createMetrics();
  const broker = await FleetBroker.start({
    host: '127.0.0.1',
    port: 0,
    maxPacketBytes: 300_000,
    devices: devicesRepo,
    metrics,
    log,
  });
  const ingest = new IngestRouter(broker, metrics, log);
  const clock = { t: Date.parse('2026-11-23T08:00:00Z') };
  const operators = { ...OPERATORS, ...opts.addOperators };

  const make = () =>
    createMeetings({
      db,
      publish: (topic, payload) => broker.publish(topic, payload, { qos: 1, retain: true }),
      ingest,
      ports: { sites: () => sites, devices: () => devicesRepo.list() },
      log,
      config: { coreSignalUrl: 'http://127.0.0.1:4443', corePlanFile: join(dir, 'core', 'plan.json'), ...opts.config },
      now: opts.realTime ? Date.now : () => clock.t,
      timer: opts.realTime === true,
      ...(opts.isLeader ? { isLeader: opts.isLeader } : {}),
      ...(opts.fence ? { fence: opts.fence } : {}),
    });
  let meetings = await make();
  await meetings.start();

  const buildApp = async (m: Meetings) => {
    const app = Fastify({ logger: false });
    app.setErrorHandler((err, _req, reply) => {
      if (err instanceof DiemcauError) return reply.code(err.statusCode).send(err.toJSON());
      const e = err as { validation?: unknown; statusCode?: number; message?: string };
      if (e.validation)
        return reply.code(400).send({ code: 'FLEET_ERR_BAD_REQUEST', message: e.message ?? 'bad request' });
      return reply.code(500).send({ code: 'FLEET_ERR_INTERNAL', message: String(err) });
    });
    await app.register(
      async (scope) =>
        m.routes(scope, (req) => {
          const op = operators[String(req.headers['x-operator'] ?? 'admin')];
          if (!op) throw new DiemcauError('FLEET_ERR_UNAUTHORIZED');
          return op;
        }),
      { prefix: '/api/v1' },
    );
    await app.ready();
    return app;
  };
  let app = await buildApp(meetings);
  const clients: MqttClient[] = [];

  const h: Harness = {
    get app() {
      return app;
    },
    get meetings() {
      return meetings;
    },
    broker,
    db,
    dir,
    sites,
    clock,
    deviceOf,
    async connect(siteId) {
      const id = deviceOf(siteId);
      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, {
        clientId: id,
        username: id,
        password: PASSWORD,
        reconnectPeriod: 0,
      });
      clients.push(client);
      return client;
    },
    async restart() {
      await app.close();
      await meetings.close();
      meetings = await make();
      await meetings.start();
      app = await buildApp(meetings);
    },
    async close() {
      await Promise.all(clients.map((c) => c.endAsync(true)));
      await app.close();
      await meetings.close();
      await broker.close();
      await db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return h;
}

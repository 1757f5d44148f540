import { mkdirSync } from 'node:fs';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { loadConfig, type FleetConfig } from './config.js';
import { loadTlsFiles } from './tls.js';
import { loadProvinceCa, provinceCaRoutes } from './api/province-ca.js';
import { createLogger } from './log.js';
import { openFleetDb } from './db/open.js';
import { createRepos } from './db/repos.js';
import { loadDataset, seedSitesIfEmpty } from './seeds/seed.js';
import { SiteDirectory } from './sites.js';
import { createMetrics } from './metrics.js';
import { FleetEvents } from './events.js';
import { FleetBroker } from './broker/broker.js';
import { IngestRouter } from './broker/ingest.js';
import { WebhookNotifier } from './alerts/webhook.js';
import { AlertService } from './alerts/service.js';
import { PresenceTracker } from './presence/tracker.js';
import { wirePresence } from './presence/wire.js';
import { LocalPresenceFeed } from './presence/feed.js';
import { parseDeviceTopic, telemetryCodec } from '@diemcau/shared';
import { Cluster } from './cluster/index.js';
import { ALWAYS_LEADER } from './cluster/leadership.js';
import { TelemetryWriter } from './telemetry/writer.js';
import { announceBrokers, brokerUrls } from './devices/broker-list.js';
import { ensureAdmin } from './operators/bootstrap.js';
import type { FleetContext } from './context.js';
import { installApiBase } from './api/plugin.js';
import { healthRoutes } from './api/health.js';
import { sitesRoutes } from './api/sites.js';
import { devicesRoutes } from './api/devices.js';
import { enrolRoutes } from './api/enrol.js';
import { alertsRoutes } from './api/alerts.js';
import { operatorsRoutes } from './api/operators.js';
import { fleetMoveRoutes } from './api/fleet-move.js';
import { provisioningRoutes } from './api/provisioning.js';
import { commandsPlugin, type CommandsPluginOptions } from './commands/plugin.js';
import { healthPlugin, type HealthPluginOptions } from './health/plugin.js';
import { meetingsPlugin } from './meetings/plugin.js';
import { meetingEscalationPlugin, type EscalationPluginOptions } from './alerts/plugin.js';
import { otaPlugin, type OtaPluginOptions } from './ota/plugin.js';
import { readinessPlugin, type ReadinessPluginOptions } from './readiness/plugin.js';
import { uiPlugin } from './ui/plugin.js';
import { deliveryPlugin } from './ui/delivery.js';

export const FLEET_VERSION = '0.1.0';

export interface BuildFleetOptions {
  /** Settings (env names in config.ts); validated with defaults filled in. */
  config?: Partial<Record<keyof FleetConfig, unknown>>;
  logger?: Logger;
  commands?: CommandsPluginOptions;
  health?: HealthPluginOptions;
  ota?: OtaPluginOptions;
  readiness?: ReadinessPluginOptions;
  /** Alerts raised near meetings (alerts/plugin.ts). */
  escalation?: EscalationPluginOptions;
}

export interface Fleet extends FleetContext {
  http: FastifyInstance;
  httpPort: number;
  mqttPort: number;
  /** Set on the very first start when no DIEMCAU_ADMIN_TOKEN was given; print it once. */
  generatedAdminToken: string | undefined;
  /** Stops everything, in order. Safe to call more than once. */
  close(): Promise<void>;
}

/**
 * Builds the whole fleet server and starts it listening: registry, broker,
 * presence, API. Returns when both ports are bound (port 0 = any free port).
 */
export async function buildFleet(opts: BuildFleetOptions = {}): Promise<Fleet> {
  const config = loadConfig(opts.config);
  const tls = loadTlsFiles(config);
  const provinceCa = loadProvinceCa(config.provinceCaFile);
  const log = opts.logger ?? createLogger(config.logLevel);
  const cleanups: Array<() => unknown> = [];
  try {
    if (config.dbFile !== ':memory:') mkdirSync(config.dataDir, { recursive: true });
    const db = await openFleetDb(config, log.child({ module: 'db' }));
    cleanups.push(() => db.close());
    const repos = createRepos(db, { telemetryKeep: config.telemetryKeep });
    await seedSitesIfEmpty(db, repos, loadDataset(config.dataset), log.child({ module: 'seeds' }));
    const generatedAdminToken = await ensureAdmin(
      repos.operators,
      config.adminToken,
      log.child({ module: 'operators' }),
    );
    // The fleet's key exists before the first box enrols (it is given out then).
    const { fleetId } = await repos.fleetKey.get();
    log.info({ fleetId }, 'fleet key');
    const sites = await SiteDirectory.load(repos.sites, repos.hierarchy);
    const metrics = createMetrics();
    const events = new FleetEvents(log.child({ module: 'events' }));

    // Cluster mode is configuration only: with a Redis, this node joins the others.
    const cluster = config.redisUrl
      ? new Cluster({
          redisUrl: config.redisUrl,
          name: config.nodeId,
          heartbeatMs: config.clusterHeartbeatMs,
          nodeTimeoutMs: config.clusterNodeTimeoutMs,
          nodeStartTimeoutMs: config.clusterNodeStartTimeoutMs,
          leftGraceMs: config.clusterLeftGraceMs,
          leaseMs: config.leaderLeaseMs,
          db,
          log: log.child({ module: 'cluster' }),
        })
      : undefined;
    if (cluster) cleanups.push(() => cluster.close());
    const leadership = cluster?.leadership ?? ALWAYS_LEADER;
    const broker = await FleetBroker.create({
      nodeId: cluster?.nodeId ?? 'local',
      redisUrl: config.redisUrl,
      host: config.host,
      port: config.mqttPort,
      maxPacketBytes: config.maxPacketBytes,
      tls,
      maxFailuresPerMin: config.mqttMaxFailuresPerMin,
      maxFailedIdsPerAddress: config.mqttMaxFailedIdsPerAddress,
      maxConnectionsPerAddress: config.mqttMaxConnectionsPerAddress,
      connectTimeoutMs: config.mqttConnectTimeoutMs,
      maxRetainedBytes: config.mqttMaxRetainedBytes,
      maxLoginsPerDevicePerMin: config.mqttMaxLoginsPerDevicePerMin,
      maxPendingLogins: config.mqttMaxPendingLogins,
      passwordHash: config.devicePasswordHash,
      slowAfterRefusalsPerSec: config.mqttSlowAfterRefusalsPerSec,
      devices: repos.devices,
      metrics,
      log: log.child({ module: 'broker' }),
    });
    cleanups.push(() => broker.close());
    if (cluster) broker.relayDisconnects(cluster.bus);
    const ingest = new IngestRouter(broker, metrics, log.child({ module: 'ingest' }));
    await announceBrokers(broker, brokerUrls(config.publicMqttUrls), log.child({ module: 'brokers' }));

    const webhook = config.webhookUrl
      ? new WebhookNotifier({
          url: config.webhookUrl,
          maxAttempts: config.webhookMaxAttempts,
          baseDelayMs: config.webhookBaseDelayMs,
          log: log.child({ module: 'webhook' }),
          metrics,
        })
      : undefined;
    if (webhook) cleanups.push(() => webhook.close());
    const alerts = new AlertService(repos.alerts, events, metrics, log.child({ module: 'alerts' }), webhook);

    const presence = new PresenceTracker({
      devices: repos.devices,
      sites,
      alerts,
      events,
      metrics,
      log: log.child({ module: 'presence' }),
      rules: {
        offlineDebounceMs: config.offlineDebounceMs,
        flapWindowMs: config.flapWindowMs,
        flapThreshold: config.flapThreshold,
        districtWindowMs: config.districtWindowMs,
        districtFraction: config.districtFraction,
        districtMinDevices: config.districtMinDevices,
      },
      startupGraceMs: config.startupGraceMs,
      fence: leadership.fence,
    });
    await presence.start();
    cleanups.push(() => presence.stop());
    wirePresence(broker, ingest, presence, cluster?.feed ?? new LocalPresenceFeed());
    if (cluster) await cluster.start(presence, alerts, broker);
    else await presence.lead(); // one node: it always leads

    const telemetry = new TelemetryWriter(
      repos.telemetry,
      metrics,
      log.child({ module: 'telemetry' }),
      config.telemetryFlushMs,
    );
    cleanups.push(() => telemetry.close());
    ingest.on('telemetry', (deviceId, sample, meta) => {
      if (!meta.stored) telemetry.add(deviceId, sample, meta.receivedAt);
    });
    // In a cluster a node may be killed at any moment: a sample is acknowledged
    // once it is written, so one that a killed node took in and had not yet
    // written was not acknowledged, and the box sends it again to another node.
    if (cluster)
      broker.holdAcks(
        (topic) => parseDeviceTopic(topic)?.channel === 'telemetry',
        (deviceId, packet, release) => {
          const decoded = telemetryCodec.decode(packet.payload);
          // A bad sample is refused (counted, logged) by the ingest router after the ack.
          if (!decoded.ok) return release();
          telemetry.add(deviceId, decoded.value, new Date().toISOString());
          telemetry.afterNextFlush(release);
        },
      );

    const fleet: FleetContext = {
      config,
      log,
      db,
      repos,
      broker,
      ingest,
      events,
      alerts,
      sites,
      presence,
      metrics,
      leadership,
      bus: cluster?.bus,
    };

    // Request lines are off: 10,000 boxes enrolling would drown the log; errors are still logged.
    // With certificates configured the API is HTTPS only: there is no plain listener to fall back to.
    const http = Fastify({
      ...(tls ? { https: { ...tls, minVersion: 'TLSv1.2' as const } } : {}),
      loggerInstance: log.child({ module: 'http' }) as FastifyBaseLogger,
      logController: new LogController({ disableRequestLogging: true }),
    });
    cleanups.push(() => http.close());
    await installApiBase(http, fleet, FLEET_VERSION);
    await http.register(deliveryPlugin);
    await http.register(healthRoutes);
    await http.register(provinceCaRoutes(provinceCa));
    // The edges the dashboard may frame (the chair's roll-call picture), known to the meetings area.
    let edgeOrigins: () => readonly string[] = () => [];
    await http.register(
      async (api) => {
        await api.register(sitesRoutes);
        await api.register(devicesRoutes);
        await api.register(enrolRoutes);
        await api.register(alertsRoutes);
        await api.register(operatorsRoutes);
        await api.register(fleetMoveRoutes);
        await api.register(provisioningRoutes);
        await api.register(meetingsPlugin);
        edgeOrigins = () => api.meetings.service.edgeOrigins();
        await api.register(meetingEscalationPlugin, opts.escalation ?? {});
        await api.register(commandsPlugin, opts.commands ?? {});
        await api.register(healthPlugin, opts.health ?? {});
        await api.register(otaPlugin, opts.ota ?? {});
        await api.register(readinessPlugin, opts.readiness ?? {});
        // Feature modules register here, one line each; they reach the fleet
        // through `app.fleet` (context.ts) and clean up in onClose hooks.
      },
      { prefix: '/api/v1' },
    );
    // Feature modules outside /api/v1 (dashboard pages, SSE streams) register here.
    await http.register(uiPlugin, { frameOrigins: () => edgeOrigins() });

    // Boxes are let in last: a session or message that arrived before its
    // listener was wired would be lost (a box connected and never counted
    // online; a sample acknowledged and never stored).
    await http.ready();
    await broker.listen();
    await http.listen({ port: config.httpPort, host: config.host });
    cluster?.ready();
    const addr = http.server.address();
    const httpPort = typeof addr === 'object' && addr ? addr.port : config.httpPort;
    log.info(
      {
        httpPort,
        mqttPort: broker.port,
        host: config.host,
        dataDir: config.dataDir,
        registry: db.dialect,
        tls: tls !== undefined,
      },
      'fleet listening',
    );

    let closing: Promise<void> | undefined;
    const close = (): Promise<void> => {
      // Order matters: presence stops first so the broker's goodbyes at
      // shutdown open no alerts; modules close (onClose) while the broker and
      // the registry still work; what was asked of the registry is written
      // before it closes, last.
      closing ??= (async () => {
        presence.stop();
        await cluster?.leave();
        await http.close();
        await broker.close();
        await cluster?.close();
        await telemetry.close();
        await presence.idle();
        await alerts.idle();
        webhook?.close();
        events.clear();
        await db.close();
        log.info('fleet stopped');
      })();
      return closing;
    };
    return { ...fleet, http, httpPort, mqttPort: broker.port, generatedAdminToken, close };
  } catch (err) {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch {
        // already failing; the original error matters more
      }
    }
    throw err;
  }
}

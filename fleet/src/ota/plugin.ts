// The OTA area as one fastify plugin over the spine's context (app.fleet):
// its tables, its 'ota' ingest handler, the rollout service with its driver
// (MQTT by default, balena where a province runs it) and its routes.
import path from 'node:path';
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge } from 'prom-client';
import { osStatusCodec, otaStatusCodec } from '@diemcau/shared';
import '../api/types.js';
import { createBalenaDriver } from './balena-driver.js';
import { balenaSettings, loadTrustedKeys, otaConfig, type OtaConfig } from './config.js';
import { deviceRef } from '../devices/device-ref.js';
import type { RolloutDriver } from './driver.js';
import { createMqttDriver } from './mqtt-driver.js';
import { ReleaseService } from './releases.js';
import { RolloutService } from './rollout-service.js';
import { otaRoutes } from './routes.js';
import { OTA_MIGRATIONS, OtaRepo } from './repo.js';

export { OTA_MIGRATIONS } from './repo.js';
export type { RolloutDriver } from './driver.js';

export interface OtaPluginOptions {
  /** Overrides of the fleet tree's `ota` section (tests, the bench); the environment is main.ts's. */
  config?: Partial<Record<keyof OtaConfig, unknown>>;
  /** Replaces the driver the settings choose (tests, the bench). */
  driver?: RolloutDriver;
  /** Receives the module's handles (tests, the bench). */
  expose?: (handles: OtaHandles) => void;
}

export interface OtaHandles {
  store: OtaRepo;
  releases: ReleaseService;
  rollouts: RolloutService;
  stats: { artifactBytesSent: number };
}

/**
 * Rollouts never update a site in (or near) a meeting, so they need the
 * meetings area: declared as a dependency, a fleet built without it fails at
 * start instead of treating every site as free. Encapsulated all the same.
 */
export const otaPlugin = fp<OtaPluginOptions>(otaArea, {
  name: 'diemcau-ota',
  dependencies: ['diemcau-context', 'diemcau-meetings'],
  encapsulate: true,
});

async function otaArea(app: FastifyInstance, opts: OtaPluginOptions): Promise<void> {
  const ctx = app.fleet;
  const log = ctx.log.child({ module: 'ota' });
  const cfg = otaConfig({ ...ctx.config.ota, ...opts.config });
  await ctx.db.migrate(OTA_MIGRATIONS);
  const store = new OtaRepo(ctx.db);
  const trusted = loadTrustedKeys(cfg.trustedKeysFile);
  if (trusted.length === 0)
    log.warn('no trusted release keys configured (DIEMCAU_OTA_TRUSTED_KEYS): every release upload will be refused');
  const releases = new ReleaseService(store, path.resolve(ctx.config.dataDir, 'releases'), () => trusted, log);
  const stats = { artifactBytesSent: 0 };
  const registers = [ctx.metrics.registry];
  const bytesSent = new Counter({
    name: 'diemcau_ota_artifact_bytes_sent_total',
    help: 'Release artifact bytes sent by the fleet (district caches serve the rest)',
    registers,
  });
  const reports = new Counter({
    name: 'diemcau_ota_reports_total',
    help: 'OTA status reports from devices, by state',
    labelNames: ['state'],
    registers,
  });
  new Gauge({
    name: 'diemcau_ota_rollout_devices',
    help: 'Devices of running or paused rollouts, by state',
    labelNames: ['state'],
    registers,
    async collect() {
      this.reset();
      for (const r of await store.activeRollouts())
        for (const d of await store.devices(r.id)) this.inc({ state: d.state });
    },
  });

  // Without a configured public URL each box resolves the artifact path against
  // the fleet URL it enrolled with: the fleet cannot know how boxes reach it.
  const fleetUrl = (): string | null => cfg.publicUrl ?? null;
  const driver =
    opts.driver ??
    (cfg.driver === 'balena'
      ? await createBalenaDriver({ ...balenaSettings(cfg), log: log.child({ driver: 'balena' }) })
      : null) ??
    createMqttDriver({
      publish: (topic, payload, o) => ctx.broker.publish(topic, payload, o),
      onlineIds: async () =>
        new Set((await ctx.repos.devices.list()).filter((d) => d.online && d.revokedAt === null).map((d) => d.id)),
      fleetUrl,
      cacheFor: async (target) => {
        if (!cfg.districtCaches) return null;
        // The cache on the box the site relays through (its relay group's hub).
        const hub = ctx.sites.relayGroupOf(target.siteId)?.hubSiteId ?? null;
        if (!hub || hub === target.siteId) return null;
        const caches = await store.cacheUrls();
        const box = (await ctx.repos.devices.list()).find((d) => d.siteId === hub && d.online && caches.has(d.id));
        return box ? caches.get(box.id)! : null;
      },
    });

  const rollouts = new RolloutService({
    store,
    releases,
    driver,
    log,
    tickMs: cfg.tickMs,
    isLeader: () => ctx.leadership.isLeader,
    fence: ctx.leadership.fence,
    onChange: () => ctx.events.emit('rollouts-changed', { at: new Date().toISOString() }),
    ports: {
      sites: () => ctx.sites.all(),
      siteIndex: () => ctx.sites.siteIndex(),
      devices: async () =>
        (await ctx.repos.devices.list())
          .filter((d) => d.revokedAt === null)
          .map((d) => ({ ...deviceRef(d), agentVersion: d.agentVersion ?? null })),
      busySites: (ids, withinMin) => app.meetings.service.busySites(ids, withinMin),
      // A week ahead: a rollout's rings rarely take longer.
      meetings: async () =>
        (await app.meetings.service.upcoming(7 * 24 * 60)).map((m) => ({
          id: m.id,
          title: m.title,
          siteIds: m.siteIds,
        })),
    },
  });
  const unIngest = ctx.ingest.on('ota', otaStatusCodec, (deviceId, status, meta) => {
    reports.inc({ state: status.state });
    rollouts
      .handleStatus(deviceId, status, meta.receivedAt)
      .catch((err: unknown) => log.error({ err, deviceId }, 'storing an OTA report failed'));
  });

  const unIngestOs = ctx.ingest.on('os', osStatusCodec, (deviceId, status, meta) => {
    reports.inc({ state: `os-${status.state}` });
    rollouts
      .handleOsStatus(deviceId, status, meta.receivedAt)
      .catch((err: unknown) => log.error({ err, deviceId }, 'storing an OS update report failed'));
  });

  await app.register(otaRoutes, {
    releases,
    rollouts,
    store,
    onArtifactBytes: (n) => {
      stats.artifactBytesSent += n;
      bytesSent.inc(n);
    },
  });
  rollouts.start();
  app.addHook('onClose', async () => {
    unIngest();
    unIngestOs();
    await rollouts.close();
  });
  opts.expose?.({ store, releases, rollouts, stats });
}

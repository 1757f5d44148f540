import type { Logger } from 'pino';
import type { FleetConfig } from './config.js';
import type { FleetDb } from './db/database.js';
import type { Repos } from './db/repos.js';
import type { FleetBroker } from './broker/broker.js';
import type { IngestRouter } from './broker/ingest.js';
import type { FleetEvents } from './events.js';
import type { AlertService } from './alerts/service.js';
import type { SiteDirectory } from './sites.js';
import type { PresenceTracker } from './presence/tracker.js';
import type { FleetMetrics } from './metrics.js';
import type { Leadership } from './cluster/leadership.js';
import type { ClusterBus } from './cluster/bus.js';

/**
 * Everything a feature module may use, handed to its fastify plugin as
 * `app.fleet`. Modules add their own tables with `db.migrate()`, their
 * routes on the plugin, their device channels with `ingest.on()`, their
 * metrics on `metrics.registry`, and clean up in an onClose hook.
 */
export interface FleetContext {
  config: FleetConfig;
  log: Logger;
  db: FleetDb;
  repos: Repos;
  broker: FleetBroker;
  ingest: IngestRouter;
  events: FleetEvents;
  alerts: AlertService;
  sites: SiteDirectory;
  presence: PresenceTracker;
  metrics: FleetMetrics;
  /** Whether this node runs the singleton work (timers that decide, drive or escalate); the embedded node always does. */
  leadership: Leadership;
  /** To and from the other nodes of a cluster; undefined for the embedded single node. */
  bus?: ClusterBus | undefined;
}

// @diemcau/fleet: the province's server, for the demo, the benchmarks and tests.
export { buildFleet, FLEET_VERSION, type Fleet, type BuildFleetOptions } from './app.js';
export { loadConfig, loadFleetSettings, ENV_NAMES, FleetConfigSchema, type FleetConfig } from './config.js';
export type { FleetContext } from './context.js';
export type { FleetEventMap, FleetEventName, PresenceReason } from './events.js';
export type { Alert } from './db/alerts-repo.js';
export type { Migration } from './db/migrations.js';
export { yenBaiSites } from './seeds/seed.js';

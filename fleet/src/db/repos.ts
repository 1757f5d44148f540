import type { FleetDb } from './database.js';
import { SitesRepo } from './sites-repo.js';
import { DevicesRepo } from './devices-repo.js';
import { EnrollmentRepo } from './enrollment-repo.js';
import { TelemetryRepo } from './telemetry-repo.js';
import { AlertsRepo } from './alerts-repo.js';
import { OperatorsRepo } from './operators-repo.js';
import { AuditRepo } from './audit-repo.js';
import { HierarchyRepo } from './hierarchy-repo.js';
import { FleetKeyRepo } from './fleet-key-repo.js';

/** One repository per table family, all over the same connection. */
export interface Repos {
  sites: SitesRepo;
  devices: DevicesRepo;
  enrollment: EnrollmentRepo;
  telemetry: TelemetryRepo;
  alerts: AlertsRepo;
  operators: OperatorsRepo;
  audit: AuditRepo;
  hierarchy: HierarchyRepo;
  fleetKey: FleetKeyRepo;
}

export function createRepos(db: FleetDb, opts: { telemetryKeep: number }): Repos {
  return {
    sites: new SitesRepo(db),
    devices: new DevicesRepo(db),
    enrollment: new EnrollmentRepo(db),
    telemetry: new TelemetryRepo(db, opts.telemetryKeep),
    alerts: new AlertsRepo(db),
    operators: new OperatorsRepo(db),
    audit: new AuditRepo(db),
    hierarchy: new HierarchyRepo(db),
    fleetKey: new FleetKeyRepo(db),
  };
}

import type { TableRule } from './plan.js';
import type { SiteFate } from './merge-map.js';

// How a merge treats each table of the second fleet's registry, and how each
// copied row is changed on its way (the executor's mapRow hook). Pure: the
// offsets and sets it needs are read once by merge.ts.

const copy: TableRule = { action: 'copy' };
const skip = (why: string): TableRule => ({ action: 'skip', why });

/** Every table a fleet has today; a table missing here stops a merge (plan.ts). */
export const MERGE_RULES: Readonly<Record<string, TableRule>> = {
  sites: copy,
  devices: copy,
  device_serials: copy,
  telemetry: copy,
  alerts: copy,
  ui_alert_acks: copy,
  audit_log: copy,
  self_tests: copy,
  commands: copy,
  ota_releases: copy,
  ota_device_status: copy,
  ota_os_status: copy,
  meeting_edge_urls: copy,
  meeting_media_plans: copy,
  hierarchy: skip("this fleet keeps its own kinds and relay groups; add the new sites' relay groups after"),
  fleet_key: skip('this fleet keeps its own key; the boxes take it with their move'),
  operators: skip('operators are not carried over: an admin of the other fleet is no admin here; create them again'),
  enrollment_tokens: skip('unused tokens of the other fleet would enrol boxes here: mint new ones'),
  ota_rollouts: skip("the other fleet's rollouts are over or stop with it; its boxes report their version here"),
  ota_rollout_devices: skip('goes with the rollouts'),
  meetings: skip("plan the other fleet's coming meetings again here: their edges and relays change"),
  meeting_sites: skip('goes with the meetings'),
  meeting_secrets: skip('this fleet keeps its own'),
  meeting_readiness: skip('goes with the meetings'),
  meeting_speak_requests: skip('goes with the meetings'),
  meeting_join_links: skip('goes with the meetings'),
  cluster_leader: skip("this fleet's own leadership"),
};

type Row = Record<string, unknown>;

export interface RowMapContext {
  sites: ReadonlyMap<string, SiteFate>;
  /** Added to the ids of the tables numbered by the engine (alerts, audit, self-tests). */
  offsets: { alerts: number; audit: number; selfTests: number };
  /** Keys of the alerts open here: an imported one with the same key comes in resolved (one open per key). */
  openAlertKeys: ReadonlySet<string>;
  /** Release versions this fleet has: kept as they are. */
  releases: ReadonlySet<string>;
  /** Telemetry received before this (ISO) is left behind: "recent telemetry". */
  telemetrySince: string | null;
  now: string;
}

const siteOf = (ctx: RowMapContext, id: unknown): unknown =>
  typeof id === 'string' ? (ctx.sites.get(id)?.id ?? id) : id;
const plus = (n: unknown, by: number): unknown => (typeof n === 'number' || typeof n === 'bigint' ? Number(n) + by : n);

/** The executor's mapRow for a merge: null leaves a row out. */
export function mergeRowMapper(ctx: RowMapContext): (table: string, row: Row) => Row | null {
  return (table, row) => {
    switch (table) {
      case 'sites': {
        const fate = ctx.sites.get(row.id as string);
        if (!fate || fate.action === 'into') return null;
        return { ...row, id: fate.id, name: fate.name, parent_id: fate.parentId, updated_at: ctx.now };
      }
      case 'devices':
        // Presence is this fleet's to learn: the box says "online" when it arrives.
        // The token that enrolled it stays behind with the other fleet.
        return { ...row, site_id: siteOf(ctx, row.site_id), online: 0, enrol_token_id: null };
      case 'device_serials':
      case 'commands':
        return { ...row, site_id: siteOf(ctx, row.site_id) };
      case 'telemetry':
        return ctx.telemetrySince !== null && String(row.received_at) < ctx.telemetrySince ? null : row;
      case 'alerts': {
        const mapped = { ...row, id: plus(row.id, ctx.offsets.alerts), site_id: siteOf(ctx, row.site_id) };
        if (row.state === 'open' && ctx.openAlertKeys.has(String(row.key)))
          return {
            ...mapped,
            state: 'resolved',
            resolved_at: ctx.now,
            resolution: 'merged: already open in this fleet',
          };
        return mapped;
      }
      case 'ui_alert_acks':
        return { ...row, alert_id: plus(row.alert_id, ctx.offsets.alerts) };
      case 'audit_log':
        return { ...row, id: plus(row.id, ctx.offsets.audit) };
      case 'self_tests':
        return { ...row, id: plus(row.id, ctx.offsets.selfTests) };
      case 'ota_releases':
        // The artifact file stays in the other fleet's data dir: upload it here before a rollout.
        return ctx.releases.has(String(row.version)) ? null : { ...row, artifact_ready: 0 };
      default:
        return row;
    }
  };
}

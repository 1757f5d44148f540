import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { codec, DiemcauError } from '@diemcau/shared';
import type { FleetConfig } from '../../config.js';
import type { FleetDb } from '../database.js';
import { AuditRepo } from '../audit-repo.js';
import { openFleetDb } from '../open.js';
import { PostgresDb } from '../postgres.js';
import { SqliteDb } from '../sqlite.js';
import { ALL_MIGRATIONS } from './catalogue.js';
import { executeImport, type ImportProgress, type ImportResult } from './executor.js';
import { registryFacts } from './facts.js';
import { MergeMappingSchema, planMerge, type MergeDecision, type MergeFacts, type MergeMapping } from './merge-map.js';
import { MERGE_RULES, mergeRowMapper } from './merge-rows.js';
import { planImport, type ImportPlan } from './plan.js';

/**
 * A second fleet's registry into this one (npm run merge-fleet): the source
 * read as it is (a SQLite file or a PostgreSQL URL, the other fleet may keep
 * running), this fleet's registry as its settings name it. The plan and the
 * merge's own checks first; with `apply`, every row in one transaction with
 * the audit entry that records it: all of it, or none of it.
 *
 * `catchUp` is the second pass, once the boxes have moved: telemetry the other
 * fleet stored after the merge (between the copy and each box's move) comes
 * over too, row by row where this fleet lacks it, so no box's sequence has a
 * gap here.
 */
export interface MergeOptions {
  config: Pick<FleetConfig, 'dataDir' | 'dbFile' | 'databaseUrl' | 'databasePoolSize'>;
  /** The other fleet's registry: a path to its SQLite file, or a postgres:// URL. */
  from: string;
  /** The mapping file's text (JSON). */
  mapping: string;
  apply: boolean;
  catchUp?: boolean;
  /** Telemetry received this many days before now or later is copied; undefined: all of it. */
  telemetryDays?: number;
  log: Logger;
  onPlan?: (plan: ImportPlan, decision: MergeDecision) => void;
  onProgress?: (p: ImportProgress) => void;
  batchRows?: number;
  now?: () => Date;
}

export interface MergeOutcome {
  plan: ImportPlan;
  decision: MergeDecision;
  result: ImportResult | null;
}

const mappingCodec = codec(MergeMappingSchema);

export function parseMapping(text: string): MergeMapping {
  const d = mappingCodec.decode(text);
  if (!d.ok) throw new DiemcauError('FLEET_ERR_BAD_REQUEST', `the mapping file: ${d.error.message}`);
  return d.value;
}

async function openSource(from: string, log: Logger): Promise<FleetDb> {
  if (/^postgres(ql)?:\/\//.test(from)) return PostgresDb.open({ url: from, poolSize: 2 }, log);
  const file = resolve(from);
  if (!existsSync(file)) throw new DiemcauError('FLEET_ERR_BAD_REQUEST', `no registry file ${file}`);
  return SqliteDb.openReadOnly(file, log);
}

const ids = async (db: FleetDb, sql: string): Promise<string[]> => (await db.all<{ v: string }>(sql)).map((r) => r.v);
const maxId = async (db: FleetDb, table: string): Promise<number> =>
  Number((await db.get<{ n: number | null }>(`SELECT MAX(id) AS n FROM ${table}`))?.n ?? 0);

async function mergeFacts(source: FleetDb, target: FleetDb): Promise<MergeFacts> {
  const hierarchy = await target.get<{ kinds: string }>('SELECT kinds FROM hierarchy WHERE id = 1');
  return {
    source: {
      sites: (
        await source.all<{ id: string; name: string; kind: string; parent_id: string | null }>(
          'SELECT id, name, kind, parent_id FROM sites ORDER BY id',
        )
      ).map((s) => ({ id: s.id, name: s.name, kind: s.kind, parentId: s.parent_id })),
      devices: (
        await source.all<{ id: string; site_id: string; serial: string | null; revoked_at: string | null }>(
          'SELECT id, site_id, serial, revoked_at FROM devices ORDER BY id',
        )
      ).map((d) => ({ id: d.id, siteId: d.site_id, serial: d.serial, revoked: d.revoked_at !== null })),
      preregisteredSerials: await ids(source, 'SELECT serial AS v FROM device_serials'),
    },
    target: {
      siteIds: await ids(target, 'SELECT id AS v FROM sites'),
      kinds: hierarchy ? (JSON.parse(hierarchy.kinds) as { id: string }[]).map((k) => k.id) : [],
      deviceIds: await ids(target, 'SELECT id AS v FROM devices'),
      liveSerials: await ids(target, 'SELECT serial AS v FROM devices WHERE serial IS NOT NULL AND revoked_at IS NULL'),
      preregisteredSerials: await ids(target, 'SELECT serial AS v FROM device_serials'),
    },
  };
}

export async function mergeFleet(o: MergeOptions): Promise<MergeOutcome> {
  const mapping = parseMapping(o.mapping);
  const now = o.now?.() ?? new Date();
  const source = await openSource(o.from, o.log);
  try {
    const target = await openFleetDb({ ...o.config, databasePoolSize: 2 }, o.log);
    try {
      await target.migrate(ALL_MIGRATIONS);
      const decision = planMerge(mapping, await mergeFacts(source, target));
      const rules = o.catchUp
        ? Object.fromEntries(
            Object.keys(MERGE_RULES).map((t) => [
              t,
              t === 'telemetry' ? MERGE_RULES[t]! : { action: 'skip' as const, why: 'merged before' },
            ]),
          )
        : MERGE_RULES;
      const plan = planImport('merge', await registryFacts(source), await registryFacts(target), rules);
      // A second pass finds the devices already here: that is the point of it.
      if (!o.catchUp) plan.problems.push(...decision.problems);
      else if (!(await target.get('SELECT 1 AS one FROM audit_log WHERE action = ? LIMIT 1', ['fleet.merge'])))
        plan.problems.push('nothing was merged into this fleet yet: run the merge (--apply) first');
      o.onPlan?.(plan, decision);
      if (!o.apply || plan.problems.length > 0) return { plan, decision, result: null };

      const hasOpen = await target.all<{ key: string }>(`SELECT key FROM alerts WHERE state = 'open'`);
      const releases = await ids(target, 'SELECT version AS v FROM ota_releases');
      const mapRow = mergeRowMapper({
        sites: decision.sites,
        offsets: {
          alerts: await maxId(target, 'alerts'),
          audit: await maxId(target, 'audit_log'),
          selfTests: await maxId(target, 'self_tests'),
        },
        openAlertKeys: new Set(hasOpen.map((r) => r.key)),
        releases: new Set(releases),
        telemetrySince:
          o.telemetryDays === undefined ? null : new Date(now.getTime() - o.telemetryDays * 86_400_000).toISOString(),
        now: now.toISOString(),
      });
      const audit = new AuditRepo(target);
      const result = await target.tx(async () => {
        const r = await executeImport(plan, source, target, {
          mapRow,
          ...(o.catchUp ? { onConflict: 'skip' as const } : {}),
          ...(o.onProgress ? { onProgress: o.onProgress } : {}),
          ...(o.batchRows ? { batchRows: o.batchRows } : {}),
        });
        await audit.record({
          operatorId: null,
          operatorName: 'merge-fleet (command line)',
          action: o.catchUp ? 'fleet.merge.catch-up' : 'fleet.merge',
          target: 'registry',
          outcome: 'ok',
          details: { from: describeSource(o.from), sites: decision.summary, written: r.written, skipped: plan.skipped },
        });
        return r;
      });
      o.log.info({ written: result.written, catchUp: o.catchUp === true }, 'fleet merged');
      return { plan, decision, result };
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}

/** The source as the audit log keeps it: a file path, or a URL without its password. */
function describeSource(from: string): string {
  return from.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

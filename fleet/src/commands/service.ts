import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { DiemcauError, indexSites, setConfigParamsCodec, type Site, type SiteIndex } from '@diemcau/shared';
import type { CommandRecord } from './lifecycle.js';
import type { DeviceRef } from '../devices/device-ref.js';
import { operatorCovers, planIssue, expandSubtree, type IssueRequest, type Operator } from './planner.js';
import type { CommandsRepo } from './repo.js';
import type { Dispatcher } from './dispatcher.js';
import type { NewAuditEntry } from '../db/audit-repo.js';

// Turning an operator's request into stored, audited, dispatched commands.
// The decisions are in planner.ts; this file only gathers the facts and does the I/O.

/** The spine's audit log (AuditRepo fits). */
export interface AuditSink {
  record(entry: NewAuditEntry): Promise<unknown>;
}

/** What the commands module needs from the rest of the fleet. */
export interface CommandPorts {
  sites(): readonly Site[];
  /** The hierarchy with the dataset's relay groups (an operator's area may be one); absent: indexed from sites(). */
  siteIndex?(): SiteIndex;
  devices(): Promise<readonly DeviceRef[]>;
  device(id: string): Promise<DeviceRef | undefined>;
  /** Which of these sites have a meeting in progress right now. */
  liveSites(siteIds: readonly string[]): Promise<ReadonlySet<string>>;
  audit: AuditSink;
}

export type Target = { kind: 'device'; deviceId: string } | { kind: 'site'; siteId: string };

export interface IssueOutcome {
  batchId: string | null;
  commands: CommandRecord[];
}

export interface CommandService {
  issue(operator: Operator, target: Target, request: IssueRequest): Promise<IssueOutcome>;
  /** A command the operator may see, or a typed error. */
  get(operator: Operator, id: string): Promise<CommandRecord>;
  listForDevice(operator: Operator, deviceId: string, limit: number): Promise<CommandRecord[]>;
  listBatch(operator: Operator, batchId: string): Promise<CommandRecord[]>;
}

export function createCommandService(opts: {
  store: CommandsRepo;
  dispatcher: Dispatcher;
  ports: CommandPorts;
  log: Logger;
  now?: () => Date;
  metrics?: { issued(rec: CommandRecord): void; refused(code: string): void };
}): CommandService {
  const { store, dispatcher, ports, log } = opts;
  const clock = () => (opts.now ? opts.now() : new Date());

  const visible = (op: Operator, siteId: string): boolean =>
    operatorCovers(op, ports.siteIndex?.() ?? indexSites(ports.sites()), siteId);

  const issue = async (operator: Operator, target: Target, request: IssueRequest): Promise<IssueOutcome> => {
    if (request.type === 'set-config') {
      // Same schema as the device's: a typo is refused now, not hours later from a commune.
      const checked = setConfigParamsCodec.check(request.params);
      if (!checked.ok) throw new DiemcauError('FLEET_ERR_BAD_REQUEST', `set-config params ${checked.error.message}`);
    }
    const sites = ports.sites();
    const index = ports.siteIndex?.() ?? indexSites(sites);
    let targets: DeviceRef[];
    if (target.kind === 'device') {
      const d = await ports.device(target.deviceId);
      if (!d) throw new DiemcauError('FLEET_ERR_UNKNOWN_DEVICE', target.deviceId);
      targets = [d];
    } else {
      if (!index.byId.has(target.siteId)) throw new DiemcauError('FLEET_ERR_UNKNOWN_SITE', target.siteId);
      targets = expandSubtree(index, await ports.devices(), target.siteId);
    }
    const live = await ports.liveSites([...new Set(targets.map((t) => t.siteId))]);
    const plan = planIssue({
      operator,
      index,
      targets,
      request,
      liveSites: live,
      ...(target.kind === 'site' ? { rootSiteId: target.siteId } : {}),
    });
    if (!plan.ok) {
      // Refusals are audited too: a refused reboot during a meeting is worth knowing about.
      await ports.audit.record({
        operatorId: operator.id,
        operatorName: operator.name ?? null,
        action: `command.${request.type}`,
        target: target.kind === 'device' ? `device:${target.deviceId}` : `site:${target.siteId}`,
        outcome: 'refused',
        details: {
          code: plan.code,
          reason: plan.detail,
          sites: plan.sites ?? [],
          ...(request.force ? { forceReason: request.force.reason } : {}),
        },
      });
      opts.metrics?.refused(plan.code);
      throw new DiemcauError(plan.code, plan.detail, { details: { sites: plan.sites ?? [] } });
    }
    const issuedAt = clock();
    const expiresAt = new Date(issuedAt.getTime() + request.ttlSec * 1000).toISOString();
    const batchId = target.kind === 'site' ? `bat_${randomUUID()}` : null;
    const records: CommandRecord[] = plan.drafts.map((d) => ({
      id: `cmd_${randomUUID()}`,
      batchId,
      deviceId: d.deviceId,
      siteId: d.siteId,
      type: request.type,
      params: request.params,
      issuedBy: operator.id,
      issuedAt: issuedAt.toISOString(),
      expiresAt,
      force: request.force,
      status: 'queued',
      attempts: 0,
      lastSentAt: null,
      deliveredAt: null,
      completedAt: null,
      result: null,
    }));
    // The commands and their audit rows are one commit: none is queued unaudited.
    await store.transaction(async () => {
      await store.insertMany(records);
      for (const r of records) {
        await ports.audit.record({
          operatorId: operator.id,
          operatorName: operator.name ?? null,
          action: `command.${r.type}`,
          target: `device:${r.deviceId}`,
          outcome: r.force ? 'forced' : 'queued',
          details: {
            commandId: r.id,
            batchId,
            params: r.params,
            siteId: r.siteId,
            expiresAt,
            ...(r.force ? { forceReason: r.force.reason, liveMeeting: plan.forcedSites.includes(r.siteId) } : {}),
          },
        });
      }
    });
    records.forEach((r) => opts.metrics?.issued(r));
    log.info(
      { operator: operator.id, type: request.type, count: records.length, batchId, forced: request.force !== null },
      'commands issued',
    );
    await store.transaction(() => dispatcher.send(records));
    const stored = await Promise.all(records.map(async (r) => (await store.get(r.id)) ?? r));
    return { batchId, commands: stored };
  };

  return {
    issue,
    async get(operator, id) {
      const rec = await store.get(id);
      // Same answer for "no such command" and "not yours": ids do not leak across districts.
      if (!rec || !visible(operator, rec.siteId)) throw new DiemcauError('FLEET_ERR_NOT_FOUND', `command ${id}`);
      return rec;
    },
    async listForDevice(operator, deviceId, limit) {
      const d = await ports.device(deviceId);
      if (!d) throw new DiemcauError('FLEET_ERR_UNKNOWN_DEVICE', deviceId);
      if (!visible(operator, d.siteId))
        throw new DiemcauError('FLEET_ERR_FORBIDDEN', `device ${deviceId} is outside the operator's area`);
      return store.listByDevice(deviceId, limit);
    },
    async listBatch(operator, batchId) {
      const index = ports.siteIndex?.() ?? indexSites(ports.sites());
      const recs = (await store.listByBatch(batchId)).filter((r) => operatorCovers(operator, index, r.siteId));
      if (recs.length === 0) throw new DiemcauError('FLEET_ERR_NOT_FOUND', `batch ${batchId}`);
      return recs;
    },
  };
}

/** Audit entry for a command's end: written when the device answers or the fleet expires it. */
export function resultAuditEntry(r: CommandRecord): NewAuditEntry {
  return {
    operatorId: r.issuedBy,
    operatorName: null,
    action: `command.${r.type}.result`,
    target: `device:${r.deviceId}`,
    outcome: r.status,
    details: {
      commandId: r.id,
      batchId: r.batchId,
      siteId: r.siteId,
      issuedAt: r.issuedAt,
      completedAt: r.completedAt,
      attempts: r.attempts,
      ...(r.force ? { forceReason: r.force.reason } : {}),
      ...(r.result?.error ? { error: r.result.error } : {}),
      ...(r.result === null ? { expiredBy: 'fleet' } : {}),
    },
  };
}

import { subtreeIds, type CommandType, type SiteIndex } from '@diemcau/shared';
import { canSeeSite, mayAct, type AccessSubject } from '../access.js';
import type { DeviceRef } from '../devices/device-ref.js';

// Deciding what an operator's request turns into, before anything is stored:
// who may send it, which devices it reaches, and whether it is safe now.
// Pure: the caller supplies the sites, the devices and the live meetings.

/** The fields of the spine's operator this module reads (access.ts decides from role and area). */
export interface Operator extends AccessSubject {
  id: string;
  name?: string;
}

/** Commands that break a meeting in progress at the site. */
export const DISRUPTIVE: ReadonlySet<CommandType> = new Set<CommandType>(['reboot', 'restart-media']);

export interface IssueRequest {
  type: CommandType;
  params: Record<string, unknown>;
  ttlSec: number;
  force: { reason: string } | null;
}

export interface CommandDraft {
  deviceId: string;
  siteId: string;
}

export type IssuePlan =
  | { ok: true; drafts: CommandDraft[]; forcedSites: string[] }
  | {
      ok: false;
      code: 'FLEET_ERR_FORBIDDEN' | 'FLEET_ERR_SITE_IN_MEETING' | 'FLEET_ERR_NO_TARGETS';
      detail: string;
      sites?: string[];
    };

/** Is this site inside the operator's area? (Sending is checked separately by canSend.) */
export function operatorCovers(op: Operator, index: SiteIndex, siteId: string): boolean {
  return canSeeSite(index, op, siteId);
}

export const canSend = (op: Operator): boolean => mayAct(op);

/** Every device on the site or below it, at any depth. */
export function expandSubtree(index: SiteIndex, devices: readonly DeviceRef[], rootSiteId: string): DeviceRef[] {
  const sites = new Set(subtreeIds(index, rootSiteId));
  return devices
    .filter((d) => sites.has(d.siteId))
    .sort((a, b) => a.siteId.localeCompare(b.siteId) || a.deviceId.localeCompare(b.deviceId));
}

export interface PlanInput {
  operator: Operator;
  index: SiteIndex;
  targets: readonly DeviceRef[];
  request: IssueRequest;
  /** Sites with a meeting in progress right now. */
  liveSites: ReadonlySet<string>;
  /** The site a subtree request was addressed to, checked even when it holds no device. */
  rootSiteId?: string;
}

export function planIssue({ operator, index, targets, request, liveSites, rootSiteId }: PlanInput): IssuePlan {
  if (!canSend(operator))
    return { ok: false, code: 'FLEET_ERR_FORBIDDEN', detail: `role ${operator.role} cannot send commands` };
  if (rootSiteId !== undefined && !operatorCovers(operator, index, rootSiteId)) {
    return {
      ok: false,
      code: 'FLEET_ERR_FORBIDDEN',
      detail: `site ${rootSiteId} is outside the operator's area`,
      sites: [rootSiteId],
    };
  }
  const outside = [...new Set(targets.filter((t) => !operatorCovers(operator, index, t.siteId)).map((t) => t.siteId))];
  if (outside.length > 0) {
    return {
      ok: false,
      code: 'FLEET_ERR_FORBIDDEN',
      detail: `sites outside the operator's area: ${outside.join(', ')}`,
      sites: outside,
    };
  }
  if (targets.length === 0)
    return { ok: false, code: 'FLEET_ERR_NO_TARGETS', detail: 'no device on that site or below it' };

  const inMeeting = DISRUPTIVE.has(request.type)
    ? [...new Set(targets.filter((t) => liveSites.has(t.siteId)).map((t) => t.siteId))].sort()
    : [];
  // All or nothing: half a district rebooting while the rest waits is harder to
  // reason about than one refusal that names the sites; the operator can force.
  if (inMeeting.length > 0 && request.force === null) {
    return {
      ok: false,
      code: 'FLEET_ERR_SITE_IN_MEETING',
      detail: `${request.type} refused: live meeting at ${inMeeting.join(', ')}; repeat with force.reason to override`,
      sites: inMeeting,
    };
  }
  return { ok: true, drafts: targets.map((t) => ({ deviceId: t.deviceId, siteId: t.siteId })), forcedSites: inMeeting };
}

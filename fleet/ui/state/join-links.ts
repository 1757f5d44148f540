// What the join-link panel decides, as plain functions (Node tests call them):
// who gets the panel, which of a meeting's sites it offers, and which sentence
// an API refusal becomes. The fleet decides in the end (meetings/service.ts);
// this only keeps the page from offering what the fleet would refuse.
import type { MsgKey } from '../i18n/core.js';

/** The roles that may issue and revoke links (access.ts `mayAct`, older name included); viewers see no panel. */
const ISSUERS: ReadonlySet<string> = new Set(['admin', 'area-operator', 'district-operator']);

export function mayIssueLinks(op: { role: string } | null | undefined): boolean {
  return op !== null && op !== undefined && ISSUERS.has(op.role);
}

/**
 * The meeting's sites (chair first) the operator may issue links for: those in
 * its site list, which the fleet already cut to its area. `outside` counts the
 * rest, so the page can say why they are not offered.
 */
export function offeredSites(
  meeting: { chairSiteId: string; siteIds: readonly string[] },
  inScope: (siteId: string) => boolean,
): { offered: string[]; outside: number } {
  const all = [...new Set([meeting.chairSiteId, ...meeting.siteIds])];
  const offered = all.filter(inScope);
  return { offered, outside: all.length - offered.length };
}

/** The API's own cap (MAX_JOIN_LINK_MIN in meetings/service.ts) and the default it applies. */
export const MAX_TTL_MIN = 24 * 60;
export const DEFAULT_TTL_MIN = 120;

/** A validity typed into the form, made one the API accepts: whole minutes, 1 to the cap. */
export function clampTtl(v: number): number {
  if (!Number.isFinite(v)) return DEFAULT_TTL_MIN;
  return Math.min(MAX_TTL_MIN, Math.max(1, Math.round(v)));
}

/**
 * An issuing or revoking refusal in the panel's words: the generic wording of
 * errors.ts says "not allowed", where an operator needs "outside your area".
 * `null`: not one of these; the caller uses the generic text.
 */
export function joinLinkErrorKey(err: unknown): MsgKey | null {
  const e = err as { status?: unknown; code?: unknown; details?: unknown } | null;
  const reason = (e?.details as { reason?: unknown } | null | undefined)?.reason;
  const siteIds = (e?.details as { siteIds?: unknown } | null | undefined)?.siteIds;
  switch (e?.code) {
    case 'FLEET_ERR_FORBIDDEN':
      // The fleet names the sites outside the area; without them the role was the reason.
      return Array.isArray(siteIds) ? 'join.err.scope' : 'join.err.role';
    case 'FLEET_ERR_MEETING_ENDED':
      return 'join.err.ended';
    case 'FLEET_ERR_NOT_FOUND':
      return 'join.err.notFound';
    case 'FLEET_ERR_BAD_REQUEST':
      return 'join.err.siteNotInMeeting';
    case 'FLEET_ERR_CONFLICT':
      if (reason === 'too-many-revoked-links') return 'join.err.tooManyRevoked';
      if (reason === 'too-many-join-links') return 'join.err.tooMany';
      return null;
    default:
      return null;
  }
}

/** The join link inside a join page's address (`…/media/v1/join?link=<link>`), or the link itself. */
export function linkOf(urlOrLink: string): string {
  const m = /[?&]link=([A-Za-z0-9_.-]+)/.exec(urlOrLink);
  return m ? m[1]! : urlOrLink;
}

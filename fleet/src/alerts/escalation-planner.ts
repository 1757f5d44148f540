// Alerts get louder near a meeting: a planner over plain data. Given the open
// alerts, the meetings that are live or close, and the time, it says which
// alerts should change severity or name a different meeting. It does no I/O
// and reads no clock; escalation.ts runs it on a tick and when meetings change.
//
// What it decides, per alert family:
//  - a site that cannot take part (offline, flapping, camera, microphone or TV
//    gone) while one of its meetings is live or starts within the lead time:
//    critical, with that meeting in `details.meeting`. The severity it had
//    before is kept in `details.escalatedFrom`, which is what lowers it later;
//  - a district outage is critical anyway: it only lists the meetings of its
//    offline sites in `details.meetings`.
import { isAlertSeverity, ROOM_ALERT_TYPES, type AlertSeverity, type AlertType } from './alert-types.js';

/** Alert types about one site that can no longer take part in a meeting. */
export const ESCALATED_TYPES: ReadonlySet<string> = new Set<AlertType>([
  'device-offline',
  'flapping',
  ...ROOM_ALERT_TYPES,
]);
/** Alert types about many sites at once: they list the meetings, their severity stays. */
export const INCIDENT_TYPES: ReadonlySet<string> = new Set<AlertType>(['district-outage']);

export const isEscalated = (type: string): boolean => ESCALATED_TYPES.has(type) || INCIDENT_TYPES.has(type);

/** Detail keys this planner owns; other writers of an alert's details keep them (service.ts). */
export const ESCALATION_DETAIL_KEYS = ['meeting', 'meetings', 'escalatedFrom', 'lastMeeting'] as const;

export interface EscalationConfig {
  /** A meeting starting within this long counts as "about to start". */
  leadMs: number;
}

/** A meeting as the planner needs it (the meetings area's MeetingRecord fits). */
export interface MeetingFact {
  id: string;
  title: string;
  siteIds: readonly string[];
  /** Epoch milliseconds; the window is [startsAt, endsAt). */
  startsAt: number;
  endsAt: number;
  /** Set when ended by hand: the window closes then. */
  endedAt: number | null;
}

/** An alert as the planner needs it: which sites it is about, and what it says now. */
export interface AlertFact {
  key: string;
  type: string;
  severity: AlertSeverity;
  /** The site of a device alert; the offline sites of an incident. */
  siteIds: readonly string[];
  details: Record<string, unknown> | null;
}

/** How an alert names a meeting: what a dashboard or webhook needs for "meeting Y starts at 14:00". */
export interface MeetingRef {
  id: string;
  title: string;
  startsAt: string;
  endsAt: string;
  state: 'live' | 'scheduled';
}

export interface EscalationStep {
  /** raise: severity goes up; lower: back down; refresh: same severity, other meeting details. */
  action: 'raise' | 'lower' | 'refresh';
  key: string;
  severity: AlertSeverity;
  /** The alert's whole new details. */
  details: Record<string, unknown>;
}

const end = (m: MeetingFact): number => (m.endedAt === null ? m.endsAt : Math.min(m.endsAt, m.endedAt));

/** Meetings of these sites that are live or start within the lead: live first, then the soonest. */
export function meetingsAtStake(
  meetings: readonly MeetingFact[],
  siteIds: readonly string[],
  now: number,
  cfg: EscalationConfig,
): MeetingFact[] {
  if (siteIds.length === 0) return [];
  const sites = new Set(siteIds);
  return meetings
    .filter((m) => end(m) > now && m.startsAt <= now + cfg.leadMs && m.siteIds.some((s) => sites.has(s)))
    .sort((a, b) => a.startsAt - b.startsAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export function meetingRef(m: MeetingFact, now: number): MeetingRef {
  return {
    id: m.id,
    title: m.title,
    startsAt: new Date(m.startsAt).toISOString(),
    endsAt: new Date(end(m)).toISOString(),
    state: m.startsAt <= now ? 'live' : 'scheduled',
  };
}

const RANK: Record<AlertSeverity, number> = { info: 0, warning: 1, critical: 2 };

/**
 * What one alert should say given the meetings: its severity and details.
 * Used for an alert being opened (so it opens critical rather than being
 * raised a moment later) and for the ones already open.
 */
export function desiredAlert(
  a: AlertFact,
  meetings: readonly MeetingFact[],
  now: number,
  cfg: EscalationConfig,
): { severity: AlertSeverity; details: Record<string, unknown> } {
  const details: Record<string, unknown> = { ...(a.details ?? {}) };
  if (!isEscalated(a.type)) return { severity: a.severity, details };
  const stake = meetingsAtStake(meetings, a.siteIds, now, cfg);

  if (INCIDENT_TYPES.has(a.type)) {
    if (stake.length > 0) details.meetings = stake.map((m) => meetingRef(m, now));
    else delete details.meetings;
    return { severity: a.severity, details };
  }

  const from = isAlertSeverity(details.escalatedFrom) ? details.escalatedFrom : null;
  if (stake.length > 0) {
    details.meeting = meetingRef(stake[0]!, now);
    if (from === null && RANK[a.severity] < RANK.critical) details.escalatedFrom = a.severity;
    return { severity: 'critical', details };
  }
  if (details.meeting === undefined && from === null) return { severity: a.severity, details };
  // The meeting is over (or was moved away from this site). The alert goes
  // back to the severity it had: critical means "act now, a meeting depends
  // on it", and an alert left critical after every meeting would teach the
  // operators to ignore critical. It stays open, and says which meeting the
  // site missed, for the call to the commune afterwards.
  if (details.meeting !== undefined) details.lastMeeting = details.meeting;
  delete details.meeting;
  delete details.escalatedFrom;
  return { severity: from ?? a.severity, details };
}

/** The changes to make to the open alerts; empty when every alert already says the right thing. */
export function planEscalation(
  alerts: readonly AlertFact[],
  meetings: readonly MeetingFact[],
  now: number,
  cfg: EscalationConfig,
): EscalationStep[] {
  const steps: EscalationStep[] = [];
  for (const a of alerts) {
    if (!isEscalated(a.type)) continue;
    const want = desiredAlert(a, meetings, now, cfg);
    const severityChanged = want.severity !== a.severity;
    if (!severityChanged && sameEscalation(a.details ?? {}, want.details)) continue;
    const action = !severityChanged ? 'refresh' : RANK[want.severity] > RANK[a.severity] ? 'raise' : 'lower';
    steps.push({ action, key: a.key, severity: want.severity, details: want.details });
  }
  return steps;
}

/** Only the keys this planner owns are compared: the rest is other modules' business. */
function sameEscalation(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  return ESCALATION_DETAIL_KEYS.every((k) => JSON.stringify(a[k]) === JSON.stringify(b[k]));
}

// What the alerts table says about a meeting an alert was raised for. Pure,
// over the alert's details as the fleet writes them (alerts/escalation-planner.ts).
import type { Alert } from '../api/types.js';

/** The meeting an alert is raised for (`details.meeting`, or an outage's first of `details.meetings`). */
export interface AlertMeeting {
  title: string;
  startsAt: string;
  live: boolean;
}

export function alertMeeting(a: Alert): AlertMeeting | null {
  const list = a.details?.meetings;
  const m = a.details?.meeting ?? (Array.isArray(list) ? list[0] : undefined);
  if (!m || typeof m !== 'object') return null;
  const { title, startsAt, state } = m as Record<string, unknown>;
  if (typeof title !== 'string' || typeof startsAt !== 'string') return null;
  return { title, startsAt, live: state === 'live' };
}

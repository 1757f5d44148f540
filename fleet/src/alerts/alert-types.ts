// The alerts' vocabulary: every alert type the fleet raises and the
// severities an alert can have. The rules that raise them (presence/planner.ts,
// health/planner.ts), the escalation near meetings, the store, the HTTP schemas
// and the dashboard (type-only) all name them from here, so a new type is
// added in one place and a misspelt one is a compile error.
//
// Plain data without imports: the dashboard's bundle may import it.

export const ALERT_SEVERITIES = ['info', 'warning', 'critical'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];
export const isAlertSeverity = (v: unknown): v is AlertSeverity => (ALERT_SEVERITIES as readonly unknown[]).includes(v);

/** From presence: a box gone, a box that keeps dropping, a relay group's outage, a reconnect that fell short. */
export const PRESENCE_ALERT_TYPES = [
  'device-offline',
  'flapping',
  /** A relay group's outage; the name stays for stored alerts and subscribers. */
  'district-outage',
  /** Boxes that did not reconnect within the grace after their node died or the fleet restarted: one incident. */
  'fleet-reconnect',
] as const;
export type PresenceAlertType = (typeof PRESENCE_ALERT_TYPES)[number];

/** The room's camera, microphone or TV gone or failing: the site cannot take part in a meeting. */
export const ROOM_ALERT_TYPES = [
  'camera-missing',
  'camera-fault',
  'microphone-missing',
  'microphone-silent',
  'microphone-fault',
  'display-disconnected',
] as const;

/** From the room's hardware and the host, as the box reports them. */
export const HEALTH_ALERT_TYPES = [...ROOM_ALERT_TYPES, 'disk-nearly-full', 'overheating', 'help-requested'] as const;
export type HealthAlertType = (typeof HEALTH_ALERT_TYPES)[number];
export const isHealthAlertType = (t: string): t is HealthAlertType =>
  (HEALTH_ALERT_TYPES as readonly string[]).includes(t);

/** From the readiness check before a meeting (readiness/service.ts): one per site and meeting, while red. */
export const READINESS_ALERT_TYPES = ['site-not-ready'] as const;

export const ALERT_TYPES = [...PRESENCE_ALERT_TYPES, ...HEALTH_ALERT_TYPES, ...READINESS_ALERT_TYPES] as const;
export type AlertType = (typeof ALERT_TYPES)[number];

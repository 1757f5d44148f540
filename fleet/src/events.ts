import type { Logger } from 'pino';
import type { Alert } from './db/alerts-repo.js';
import { Events, type Peripherals } from '@diemcau/shared';

/** What happens in the fleet, for in-process listeners (the dashboard's SSE, commands, OTA...). */
export interface FleetEventMap {
  /** A device's connection state changed (not debounced: the alert rules do that). */
  'device-presence': { deviceId: string; siteId: string; online: boolean; at: string; reason: PresenceReason };
  /** A device's birth message arrived: versions and peripherals. */
  'device-birth': {
    deviceId: string;
    siteId: string;
    agentVersion?: string | undefined;
    peripherals?: Peripherals | undefined;
    at: string;
  };
  'device-enrolled': { deviceId: string; siteId: string; reenrolled: boolean };
  'alert-opened': Alert;
  'alert-updated': Alert;
  'alert-resolved': Alert;
  /** Meetings changed: one was created, changed by the chair or ended, or the clock started or ended one. */
  'meetings-changed': { at: string };
  /** A rollout was created or changed state, or its devices moved on (at most once a second). */
  'rollouts-changed': { at: string };
  /** An operator's token was revoked: whatever it holds open (the live feed) ends now. */
  'operator-revoked': { operatorId: string };
}

/**
 * Why presence changed. 'birth' and 'will' are no longer emitted (a session's
 * start and end decide presence; presence/sessions.ts) and stay in the union
 * for subscribers that still name them. 'node-lost': the fleet node holding
 * the session died.
 */
export type PresenceReason =
  'connected' | 'birth' | 'will' | 'disconnected' | 'keepalive-timeout' | 'startup-grace' | 'revoked' | 'node-lost';

export type FleetEventName = keyof FleetEventMap;

/**
 * The fleet's typed, synchronous event bus (the shared emitter, one payload per
 * event). A listener that throws is logged and the others still run: one
 * broken dashboard stream must not stop presence.
 */
export class FleetEvents extends Events<{ [K in FleetEventName]: [FleetEventMap[K]] }> {
  constructor(log: Logger) {
    super((err, event) => log.error({ err, event }, 'event listener threw'));
  }

  clear(): void {
    this.removeAll();
  }
}

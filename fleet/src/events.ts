import type { Logger } from 'pino';
import type { Alert } from './db/alerts-repo.js';
import type { Peripherals } from '@diemcau/shared';

/** What happens in the fleet, for in-process listeners (the dashboard's SSE, commands, OTA...). */
export interface FleetEventMap {
  /** A device's connection state changed (not debounced: the alert rules do that). */
  'device-presence': { deviceId: string; siteId: string; online: boolean; at: string; reason: PresenceReason };
  /** A device's birth message arrived: versions and peripherals. */
  'device-birth': { deviceId: string; siteId: string; agentVersion?: string | undefined; peripherals?: Peripherals | undefined; at: string };
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
export type PresenceReason = 'connected' | 'birth' | 'will' | 'disconnected' | 'keepalive-timeout' | 'startup-grace' | 'revoked' | 'node-lost';

export type FleetEventName = keyof FleetEventMap;
type Listener<K extends FleetEventName> = (payload: FleetEventMap[K]) => void;

/**
 * A typed, synchronous event bus. A listener that throws is logged and the
 * others still run: one broken dashboard stream must not stop presence.
 */
export class FleetEvents {
  private readonly listeners = new Map<FleetEventName, Set<Listener<FleetEventName>>>();

  constructor(private readonly log: Logger) {}

  on<K extends FleetEventName>(event: K, listener: Listener<K>): () => void {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener as Listener<FleetEventName>);
    return () => this.off(event, listener);
  }

  off<K extends FleetEventName>(event: K, listener: Listener<K>): void {
    this.listeners.get(event)?.delete(listener as Listener<FleetEventName>);
  }

  emit<K extends FleetEventName>(event: K, payload: FleetEventMap[K]): void {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const l of [...set]) {
      try {
        (l as Listener<K>)(payload);
      } catch (err) {
        this.log.error({ err, event }, 'event listener threw');
      }
    }
  }

  listenerCount(event: FleetEventName): number {
    return this.listeners.get(event)?.size ?? 0;
  }

  clear(): void {
    this.listeners.clear();
  }
}

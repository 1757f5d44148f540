// What the dashboard receives on GET /api/v1/events, and the pure rules that
// turn fleet bus events into it and decide who may see each one. Plain types
// only: the browser bundle imports them too (type-only).
import type { Peripherals, Telemetry } from '@diemcau/shared';
import type { AlertView, CommandViewData } from '../api/http-types.js';

export interface UiAck {
  alertId: number;
  at: string;
  by: string | null;
  note: string;
}

export type UiEvent =
  | { type: 'hello'; at: string }
  | { type: 'presence'; deviceId: string; siteId: string; online: boolean; at: string; reason?: string }
  | { type: 'birth'; deviceId: string; siteId: string; at: string; agentVersion?: string; peripherals?: Peripherals }
  | { type: 'peripherals'; deviceId: string; siteId: string; at: string; peripherals: Peripherals }
  | { type: 'enrolled'; deviceId: string; siteId: string }
  | { type: 'alert'; alert: AlertView }
  | { type: 'ack'; ack: UiAck; siteId: string | null }
  | { type: 'command'; command: CommandViewData }
  // Only on a device's own stream (GET /api/v1/devices/:id/live), for its page's charts.
  | { type: 'telemetry'; deviceId: string; siteId: string; sample: Telemetry }
  | { type: 'self-test'; deviceId: string; siteId: string; at: string; ok: boolean }
  // Meetings changed: the page fetches the list again (the API filters it by operator).
  | { type: 'meetings'; at: string }
  // Rollouts changed: the page fetches them again.
  | { type: 'rollouts'; at: string };

/** The site an event is about; null for events about the province as a whole. */
export function eventSite(e: UiEvent): string | null {
  switch (e.type) {
    case 'hello':
      return null;
    case 'meetings':
      return null;
    case 'rollouts':
      return null;
    case 'alert':
      return e.alert.siteId;
    case 'ack':
      return e.siteId;
    case 'command':
      return e.command.siteId;
    default:
      return e.siteId;
  }
}

export interface Viewer {
  /** The sites this stream may hear of (access.ts, taken when it opens); null: the whole province. */
  scope: ReadonlySet<string> | null;
  /** Read-only operators get no hardware serial, on the feed as in the API (api/serial-privacy.ts). */
  hideSerials?: boolean;
}

/**
 * May this operator see this event? An area operator sees only events about
 * sites in its area; an event about no site (province-wide) only goes to
 * operators who see the whole province.
 */
export function visibleTo(v: Viewer, e: UiEvent): boolean {
  // 'meetings' and 'rollouts' carry no data of their own, only "fetch the list again".
  if (e.type === 'hello' || e.type === 'meetings' || e.type === 'rollouts' || v.scope === null) return true;
  const site = eventSite(e);
  return site !== null && v.scope.has(site);
}

/** One server-sent event frame. */
export function frame(e: UiEvent): string {
  return `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;
}

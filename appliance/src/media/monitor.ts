// The chair's roll-call picture, as pure decisions. During a roll call the
// chair's console shows the called room live: the dashboard frames this edge's
// join page with a `monitor` link the fleet signed for the chairing site
// (shared/src/join-link.ts). Such a peer is a narrow door:
// - it receives the called site's picture and nothing else: no sound, no
//   other site, nothing when no roll call runs;
// - of that picture, the layer a laptop's grid gets (layers.ts receiverPicks:
//   the small one where this edge has it), so watching costs the link little;
// - one consumer and one transport at a time: stepping to the next room closes
//   the last one (the page does, and the edge does when the plan moves on).
import type { Layer } from './layers.js';

/** A browser peer's role, from the link that opened it (kiosk and admin tokens are participants). */
export type PeerRole = 'participant' | 'listener' | 'monitor';

/** A monitor holds this many consumers and transports at most: the one picture it shows. */
export const MONITOR_MAX_CONSUMERS = 1;
export const MONITOR_MAX_TRANSPORTS = 1;

export interface MonitorAsk {
  /** The site the roll call has reached on this edge (its plan), null when none runs. */
  called: string | null;
  stream: { id: string; kind: 'audio' | 'video'; siteId: string; layer: Layer };
  /** The stream a grid viewer gets of the called site now (the small layer where present). */
  pick: string | undefined;
}

export interface MonitorRefusal {
  reason: 'monitor-no-roll-call' | 'monitor-not-called' | 'monitor-not-picture' | 'monitor-not-thumbnail';
  detail: string;
}

/** Whether a monitor may consume the stream; null when it may, the reason when not. */
export function monitorRefusal(a: MonitorAsk): MonitorRefusal | null {
  if (a.called === null) return { reason: 'monitor-no-roll-call', detail: 'no roll call is running' };
  if (a.stream.kind !== 'video')
    return { reason: 'monitor-not-picture', detail: 'a monitor link receives pictures only' };
  if (a.stream.siteId !== a.called) {
    return {
      reason: 'monitor-not-called',
      detail: `the roll call is at ${a.called}, not ${a.stream.siteId}`,
    };
  }
  if (a.pick !== a.stream.id) {
    return {
      reason: 'monitor-not-thumbnail',
      detail: `a monitor receives ${a.called}'s ${a.pick === undefined ? 'picture once it arrives' : `stream ${a.pick}`}`,
    };
  }
  return null;
}

/** The outlets a monitor must give up when the roll call moves on: those of any other site. */
export function monitorStale(
  called: string | null,
  outlets: ReadonlyArray<{ id: string; siteId: string | undefined }>,
): string[] {
  return outlets.filter((o) => called === null || o.siteId !== called).map((o) => o.id);
}

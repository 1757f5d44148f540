import type { ClusterBus } from '../cluster/bus.js';
import type { StreamHub } from './event-stream.js';
import type { UiEvent } from './ui-events.js';

/** Where the live feed's events are published: a hub, or a hub and the other nodes. */
export interface UiSink {
  publish(e: UiEvent): void;
}

/**
 * In a cluster the dashboard may be open on any node while the box, the
 * leader's decision or the operator's change happened on another: every
 * event published here goes to this node's streams and, through the cluster
 * bus (Redis pub/sub), to every other node's; what arrives from them goes to
 * this node's streams only. Without a bus, the hub itself.
 */
export function relayed(hub: StreamHub, name: string, bus: ClusterBus | undefined): { sink: UiSink; off: () => void } {
  if (!bus) return { sink: hub, off: () => undefined };
  const topic = `ui:${name}`;
  // Events from other nodes were built by the same code; the hub's viewer filter still applies to them.
  const off = bus.subscribe(topic, (payload) => {
    if (payload && typeof payload === 'object' && typeof (payload as { type?: unknown }).type === 'string')
      hub.publish(payload as UiEvent);
  });
  return {
    sink: {
      publish(e) {
        hub.publish(e);
        bus.publish(topic, e);
      },
    },
    off,
  };
}

import type { FleetEvents } from '../events.js';
import type { StreamHub } from './event-stream.js';

// From the fleet's bus to the dashboards' streams. Only what the page needs
// goes out, in the shape of ui-events.ts, so the bus can change without
// breaking browsers that are already open.
export function wireBus(events: FleetEvents, hub: StreamHub): () => void {
  const offs = [
    events.on('device-presence', (p) => hub.publish({ type: 'presence', deviceId: p.deviceId, siteId: p.siteId, online: p.online, at: p.at, reason: p.reason })),
    events.on('device-birth', (p) => hub.publish({
      type: 'birth', deviceId: p.deviceId, siteId: p.siteId, at: p.at,
      ...(p.agentVersion !== undefined ? { agentVersion: p.agentVersion } : {}),
      ...(p.peripherals !== undefined ? { peripherals: p.peripherals } : {}),
    })),
    events.on('device-enrolled', (p) => hub.publish({ type: 'enrolled', deviceId: p.deviceId, siteId: p.siteId })),
    events.on('alert-opened', (a) => hub.publish({ type: 'alert', alert: a })),
    events.on('alert-updated', (a) => hub.publish({ type: 'alert', alert: a })),
    events.on('alert-resolved', (a) => hub.publish({ type: 'alert', alert: a })),
  ];
  return () => { for (const off of offs) off(); };
}

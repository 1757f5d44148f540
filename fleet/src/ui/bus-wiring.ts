import type { Logger } from 'pino';
import { healthCodec } from '@diemcau/shared';
import type { IngestRouter } from '../broker/ingest.js';
import type { FleetEvents } from '../events.js';
import type { UiSink } from './cluster-relay.js';

// From the fleet's bus to the dashboards' streams. Only what the page needs
// goes out, in the shape of ui-events.ts, so the bus can change without
// breaking browsers that are already open.
export function wireBus(events: FleetEvents, hub: UiSink): () => void {
  const offs = [
    events.on('device-presence', (p) =>
      hub.publish({
        type: 'presence',
        deviceId: p.deviceId,
        siteId: p.siteId,
        online: p.online,
        at: p.at,
        reason: p.reason,
      }),
    ),
    events.on('device-birth', (p) =>
      hub.publish({
        type: 'birth',
        deviceId: p.deviceId,
        siteId: p.siteId,
        at: p.at,
        ...(p.agentVersion !== undefined ? { agentVersion: p.agentVersion } : {}),
        ...(p.peripherals !== undefined ? { peripherals: p.peripherals } : {}),
      }),
    ),
    events.on('device-enrolled', (p) => hub.publish({ type: 'enrolled', deviceId: p.deviceId, siteId: p.siteId })),
    events.on('alert-opened', (a) => hub.publish({ type: 'alert', alert: a })),
    events.on('alert-updated', (a) => hub.publish({ type: 'alert', alert: a })),
    events.on('alert-resolved', (a) => hub.publish({ type: 'alert', alert: a })),
    events.on('meetings-changed', (p) => hub.publish({ type: 'meetings', at: p.at })),
    events.on('rollouts-changed', (p) => hub.publish({ type: 'rollouts', at: p.at })),
  ];
  return () => {
    for (const off of offs) off();
  };
}

/**
 * What devices say that the bus does not carry: peripheral changes and
 * self-tests (to the main streams: rare and small), and telemetry (to the
 * device streams only: one page watches one box, nobody gets every sample).
 */
export function wireIngest(
  ingest: IngestRouter,
  siteOf: (deviceId: string) => Promise<string | undefined>,
  hub: UiSink,
  deviceHub: UiSink & { size?: number },
  log: Logger,
): () => void {
  const failed = (err: unknown): void => log.warn({ err }, 'device look-up for the live feed failed');
  const offs = [
    ingest.on('health', healthCodec, (deviceId, msg) => {
      siteOf(deviceId)
        .then((siteId) => {
          if (!siteId) return;
          if (msg.kind === 'peripherals')
            hub.publish({ type: 'peripherals', deviceId, siteId, at: msg.at, peripherals: msg.peripherals });
          else deviceHub.publish({ type: 'self-test', deviceId, siteId, at: msg.finishedAt, ok: msg.ok });
        })
        .catch(failed);
    }),
    ingest.on('telemetry', (deviceId, sample) => {
      if (deviceHub.size === 0) return; // nobody is looking here (and no other node to tell): skip the registry lookup
      siteOf(deviceId)
        .then((siteId) => {
          if (siteId) deviceHub.publish({ type: 'telemetry', deviceId, siteId, sample });
        })
        .catch(failed);
    }),
  ];
  return () => {
    for (const off of offs) off();
  };
}

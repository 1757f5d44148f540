import type { Client } from 'aedes';
import type { FleetBroker } from '../broker/broker.js';
import type { IngestRouter } from '../broker/ingest.js';
import type { PresenceTracker } from './tracker.js';

/**
 * Connects the tracker to the broker: a device is online from its CONNACK
 * (its birth follows with the details), offline when its connection ends,
 * by keepalive expiry (aedes waits 1.5 × keepalive), or by its will.
 */
export function wirePresence(broker: FleetBroker, ingest: IngestRouter, tracker: PresenceTracker): void {
  const expired = new WeakSet<Client>();
  broker.aedes.on('clientReady', (client) => {
    const conn = broker.connectionOf(client);
    if (conn) tracker.connected(conn.deviceId, conn.connId);
  });
  broker.aedes.on('keepaliveTimeout', (client) => expired.add(client));
  broker.aedes.on('clientDisconnect', (client) => {
    const conn = broker.connectionOf(client);
    if (conn) tracker.disconnected(conn.deviceId, conn.connId, expired.has(client));
  });
  ingest.on('presence', (deviceId, presence, meta) => tracker.presenceMessage(deviceId, meta.connId, presence));
}

import type { FleetBroker } from '../broker/broker.js';
import type { IngestRouter } from '../broker/ingest.js';
import type { PresenceFeed } from './feed.js';
import type { PresenceTracker } from './tracker.js';

/**
 * Connects the tracker to the broker through the feed: this node's sessions
 * go out on the feed, every node's sessions come back from it (in a cluster,
 * a box on another node is online here too). A device is online while it
 * holds a session anywhere; its birth only brings the details.
 */
export function wirePresence(
  broker: FleetBroker,
  ingest: IngestRouter,
  tracker: PresenceTracker,
  feed: PresenceFeed,
): void {
  feed.onEvent((e) => {
    if (e.kind === 'start') tracker.sessionStarted(e);
    else tracker.sessionEnded(e.sessionId, e.deviceId, e.keepaliveExpired ? 'keepalive-timeout' : 'disconnected');
  });
  broker.onSession((e) => feed.publish(e));
  ingest.on('presence', (deviceId, presence) => tracker.presenceMessage(deviceId, presence));
}

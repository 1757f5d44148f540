import type { Logger } from 'pino';
import { BROKERS_TOPIC, brokerListCodec } from '@diemcau/shared';
import type { FleetBroker } from '../broker/broker.js';

/** The configured broker list (DIEMCAU_PUBLIC_MQTT_URLS), or none. */
export const brokerUrls = (setting: string | undefined): string[] =>
  setting?.split(',').filter((u) => u.length > 0) ?? [];

/**
 * Tells every box, now and on each of its connects, the brokers of this fleet:
 * one retained message for all of them (shared/src/brokers.ts). Each node
 * publishes it when it starts, so a node added with a longer list reaches the
 * boxes enrolled before it at once; set the same list on every node. A node
 * without a list clears the message (boxes keep the list they stored).
 */
export async function announceBrokers(broker: FleetBroker, urls: readonly string[], log: Logger): Promise<void> {
  const payload =
    urls.length > 0 ? brokerListCodec.encode({ v: 1, urls: [...urls], at: new Date().toISOString() }) : Buffer.alloc(0);
  await broker.publish(BROKERS_TOPIC, payload, { qos: 1, retain: true });
  if (urls.length > 0) log.info({ urls }, 'broker list announced to every box');
}

import { Type, type Static } from '@sinclair/typebox';
import { codec } from './codec.js';

// The fleet's current broker list, for boxes enrolled before it changed (a
// node added, one moved). One retained message for the whole fleet on
// BROKERS_TOPIC (topics.ts): every node publishes its configured list when it
// starts, the broker keeps it (in Redis for a cluster), and every box hears
// it on each connect and whenever it changes. Devices may subscribe to it and
// never publish there (the ACL), so a box only follows a list its own fleet
// sent over its authenticated connection; what a box accepts is decided in
// appliance/src/agent/broker-list.ts (no move from TLS to plain, same CA).

export const BrokerListSchema = Type.Object({
  v: Type.Literal(1),
  /** Every node's broker, as the boxes reach them; a box keeps the one it is on first. */
  urls: Type.Array(Type.String({ minLength: 1, maxLength: 2048, pattern: '^(mqtts?|wss?)://[^\\s,]+$' }), {
    minItems: 1,
    maxItems: 16,
  }),
  at: Type.String({ format: 'date-time' }),
});
export type BrokerList = Static<typeof BrokerListSchema>;
export const brokerListCodec = codec(BrokerListSchema);

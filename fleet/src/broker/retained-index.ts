// aedes' in-memory persistence, with retained messages also kept by topic.
// On every SUBSCRIBE aedes asks the persistence for the retained messages that
// match; the stock memory store answers by testing every retained message
// against the pattern, synchronously, three times for a box's three topics.
// Every box leaves a few retained messages (presence, media plan, desired
// release), so at 10,000 boxes each connect cost the event loop tens of
// milliseconds and the ramp slowed as the fleet grew. Boxes only subscribe to
// exact topics of their own (the ACL refuses wildcards), so those are looked up
// directly; a pattern with a wildcard still goes to the stock scan.
import { Readable } from 'node:stream';
import persistenceModule, { type AedesPersistence } from 'aedes-persistence';

/** A retained PUBLISH as aedes stores it (the persistence's own packet type also covers CONNECT). */
interface Packet {
  topic: string;
  payload: Buffer;
}

// A CommonJS module whose export is the factory; its types say `export default`.
const memory = persistenceModule as unknown as () => AedesPersistence;

const hasWildcard = (pattern: string): boolean => pattern.includes('+') || pattern.includes('#');

export function indexedMemoryPersistence(): AedesPersistence {
  const p = memory() as AedesPersistence & Record<string, unknown>;
  const byTopic = new Map<string, Packet>();
  const storeRetained = p.storeRetained.bind(p) as (packet: Packet, cb?: (err?: Error | null) => void) => unknown;
  const scanOne = p.createRetainedStream.bind(p);
  const scanMany = p.createRetainedStreamCombi.bind(p);
  // aedes 1 calls storeRetained without a callback and awaits the promise.
  (p as { storeRetained: unknown }).storeRetained = (packet: Packet, cb?: (err?: Error | null) => void): unknown => {
    if (packet.payload.length === 0) byTopic.delete(packet.topic);
    else byTopic.set(packet.topic, { ...packet });
    return storeRetained(packet, cb);
  };
  const exact = function* (patterns: readonly string[]): Generator<Packet> {
    for (const topic of patterns) {
      const packet = byTopic.get(topic);
      if (packet) yield packet;
    }
  };
  p.createRetainedStream = (pattern) => (hasWildcard(pattern) ? scanOne(pattern) : Readable.from(exact([pattern])));
  p.createRetainedStreamCombi = (patterns) =>
    patterns.some(hasWildcard) ? scanMany(patterns) : Readable.from(exact(patterns));
  return p;
}

// Retained messages looked up by topic: a box subscribing to its own topics
// gets exactly its retained messages (set, replaced, cleared) from the real
// broker, and a wildcard pattern still gets the stock scan's answer.
import t from 'tap';
import { deviceTopic } from '@diemcau/shared';
import { indexedMemoryPersistence } from '../../src/broker/retained-index.js';
import { connectDevice, startTestFleet } from '../helpers/fleet.js';

const drain = async (stream: NodeJS.ReadableStream): Promise<string[]> => {
  const out: string[] = [];
  for await (const p of stream as AsyncIterable<{ topic: string; payload: Buffer }>)
    out.push(`${p.topic}=${p.payload.toString()}`);
  return out;
};
const packet = (topic: string, payload: string) =>
  ({
    cmd: 'publish',
    topic,
    payload: Buffer.from(payload),
    qos: 1,
    retain: true,
    brokerId: 'b',
    brokerCounter: 1,
  }) as never;

t.test('the persistence answers exact topics from its index, wildcards by scanning', async (t) => {
  const p = indexedMemoryPersistence() as unknown as {
    setup(broker: unknown): Promise<void>;
    storeRetained(p: unknown): Promise<void>;
    createRetainedStream(pattern: string): NodeJS.ReadableStream;
    createRetainedStreamCombi(patterns: string[]): NodeJS.ReadableStream;
  };
  await p.setup({});
  await p.storeRetained(packet('d/1/media', 'plan-1'));
  await p.storeRetained(packet('d/1/desired', 'rel-1'));
  await p.storeRetained(packet('d/2/media', 'plan-2'));
  await p.storeRetained(packet('d/1/media', 'plan-1b'));
  t.same(
    await drain(p.createRetainedStreamCombi(['d/1/commands', 'd/1/desired', 'd/1/media'])),
    ['d/1/desired=rel-1', 'd/1/media=plan-1b'],
    'the newest of each, none of another device',
  );
  await p.storeRetained(packet('d/1/desired', ''));
  t.same(await drain(p.createRetainedStream('d/1/desired')), [], 'an empty retained message clears it');
  t.same(
    (await drain(p.createRetainedStreamCombi(['d/+/media']))).sort(),
    ['d/1/media=plan-1b', 'd/2/media=plan-2'],
    'a wildcard scans everything',
  );
});

t.test("a box gets its retained media plan from the fleet's broker on subscribe", async (t) => {
  const { enrol, fleet } = await startTestFleet(t);
  const a = await enrol('yb-city');
  const b = await enrol('yb-luc-yen');
  await fleet.broker.publish(deviceTopic(a.deviceId, 'media'), '{"for":"a"}', { qos: 1, retain: true });
  await fleet.broker.publish(deviceTopic(b.deviceId, 'media'), '{"for":"b"}', { qos: 1, retain: true });
  const client = await connectDevice(t, a);
  const got = new Promise<[string, Buffer]>((resolve) =>
    client.once('message', (topic, payload) => resolve([topic, payload])),
  );
  await client.subscribeAsync(deviceTopic(a.deviceId, 'media'), { qos: 1 });
  const [topic, payload] = await got;
  t.same([topic, payload.toString()], [deviceTopic(a.deviceId, 'media'), '{"for":"a"}'], 'its own plan, retained');
});

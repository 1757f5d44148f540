// A box with several brokers (a fleet of several nodes): it reaches the one
// that answers, and moves to another when its broker dies.
import net from 'node:net';
import { pino } from 'pino';
import t from 'tap';
import { MqttSession } from '../../src/agent/session.js';
import { ChannelRouter } from '../../src/agent/router.js';
import { startBroker } from '../helpers/broker.js';

const log = pino({ level: 'silent' });
const DEVICE = 'box-failover-1';
const FAST = { initialMs: 50, maxMs: 400, factor: 2 };

/** A port nothing listens on (bound, then released). */
async function deadUrl(): Promise<string> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return `mqtt://127.0.0.1:${port}`;
}

function session(url: string, urls: string[]): MqttSession {
  return new MqttSession({
    url,
    urls,
    deviceId: DEVICE,
    username: DEVICE,
    password: 'pw',
    keepaliveSec: 5,
    connectTimeoutMs: 2000,
    backoff: FAST,
    router: new ChannelRouter(DEVICE, log),
    log,
    birth: async () => ({ agentVersion: '9.9.9-test' }),
  });
}

t.test('a box whose first broker is down connects to the next', async (t) => {
  const credentials = new Map([[DEVICE, 'pw']]);
  const b = await startBroker({ credentials });
  t.teardown(() => b.close());
  const dead = await deadUrl();
  const s = session(dead, [dead, b.url]);
  t.teardown(() => s.close({ graceful: false }));
  s.start();
  await s.waitConnected();
  t.ok(s.connected);
  t.equal(s.url, b.url, 'on the broker that answered');
});

t.test('a box moves to the other broker when its own dies', async (t) => {
  const credentials = new Map([[DEVICE, 'pw']]);
  const a = await startBroker({ credentials });
  const b = await startBroker({ credentials });
  t.teardown(() => b.close());
  const s = session(a.url, [a.url, b.url]);
  t.teardown(() => s.close({ graceful: false }));
  s.start();
  await s.waitConnected();
  t.equal(s.url, a.url, 'first on its own broker');
  const moved = new Promise<void>((resolve) => s.once('disconnected', () => s.once('connected', () => resolve())));
  await a.close();
  await moved;
  t.equal(s.url, b.url, 'then on the other one');
  await b.waitFor(
    (all) => all.some((p) => p.topic.endsWith('/presence') && p.payload.includes('"online"')),
    'its birth on the other broker',
  );
});

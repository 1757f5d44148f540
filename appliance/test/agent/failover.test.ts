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

function session(url: string, urls: string[], backoff = FAST): MqttSession {
  return new MqttSession({
    url,
    urls,
    deviceId: DEVICE,
    username: DEVICE,
    password: 'pw',
    keepaliveSec: 5,
    connectTimeoutMs: 2000,
    backoff,
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

t.test('a broker that is down costs no backoff: the next one is tried at once', async (t) => {
  const credentials = new Map([[DEVICE, 'pw']]);
  const b = await startBroker({ credentials });
  t.teardown(() => b.close());
  const dead = await deadUrl();
  // A minute's backoff: the box reaches b long before one could pass.
  const s = session(dead, [dead, b.url], { initialMs: 60_000, maxMs: 60_000, factor: 1 });
  t.teardown(() => s.close({ graceful: false }));
  s.start();
  const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 10_000).unref());
  t.equal(await Promise.race([s.waitConnected().then(() => 'connected' as const), timeout]), 'connected');
  t.equal(s.url, b.url);
});

t.test('when every broker fails the box tries each in turn, then backs off: never spins', async (t) => {
  // Two "brokers" that accept and hang up at once, noting when each attempt came.
  const attempts: Array<{ at: number; server: number }> = [];
  const servers = await Promise.all(
    [0, 1].map(async (server) => {
      const srv = net.createServer((sock) => {
        attempts.push({ at: Date.now(), server });
        sock.destroy();
      });
      await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
      t.teardown(() => new Promise<void>((resolve) => srv.close(() => resolve())));
      return `mqtt://127.0.0.1:${(srv.address() as net.AddressInfo).port}`;
    }),
  );
  const s = session(servers[0]!, servers, { initialMs: 2000, maxMs: 2000, factor: 1 });
  s.start();
  await new Promise((r) => setTimeout(r, 5000));
  await s.close({ graceful: false });
  // Backoffs of 1–2 s: attempts come in pairs (the other broker at once), the
  // pairs a backoff apart. "At once" is anything under 900 ms, which leaves a
  // loaded machine room without taking a backoff for one.
  const QUICK = 900;
  const gaps = attempts.slice(1).map((a, i) => a.at - attempts[i]!.at);
  const quick = gaps.filter((g) => g < QUICK).length;
  t.ok(attempts.length >= 4 && attempts.length <= 12, `${attempts.length} attempts in 5 s`);
  t.ok(quick >= 1, `the other broker tried at once after a failure (gaps ${gaps.join(', ')} ms)`);
  t.ok(
    gaps.every((g, i) => g >= QUICK || (gaps[i - 1] ?? QUICK) >= QUICK),
    'never two quick attempts in a row: one backoff per round',
  );
  t.ok(
    attempts.every((a, i) => i === 0 || gaps[i - 1]! >= QUICK || a.server !== attempts[i - 1]!.server),
    'the quick one is the other broker',
  );
});

t.test('a move during an attempt: the first broker of the new list goes next, the round starts anew', async (t) => {
  const credentials = new Map([[DEVICE, 'pw']]);
  const b = await startBroker({ credentials });
  t.teardown(() => b.close());
  // A broker that takes the connection and never answers, and one that hangs up at once; each notes its attempts.
  const listen = async (onConnection: (sock: net.Socket) => void): Promise<{ url: string; attempts: number }> => {
    const seen = { url: '', attempts: 0 };
    const sockets = new Set<net.Socket>();
    const srv = net.createServer((sock) => {
      seen.attempts++;
      sockets.add(sock);
      sock.on('close', () => sockets.delete(sock));
      onConnection(sock);
    });
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    t.teardown(() => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => srv.close(() => resolve()));
    });
    seen.url = `mqtt://127.0.0.1:${(srv.address() as net.AddressInfo).port}`;
    return seen;
  };
  const silent = await listen(() => undefined);
  const hangsUp = await listen((sock) => sock.destroy());
  const s = session(silent.url, [silent.url]);
  t.teardown(() => s.close({ graceful: false }));
  s.start();
  for (let i = 0; i < 100 && silent.attempts === 0; i++) await new Promise((r) => setTimeout(r, 20));
  t.equal(silent.attempts, 1, 'an attempt under way on the old broker');
  s.retarget([b.url, hangsUp.url], undefined);
  const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 10_000).unref());
  t.equal(await Promise.race([s.waitConnected().then(() => 'connected' as const), timeout]), 'connected');
  t.equal(s.url, b.url, "on the new list's first broker");
  t.equal(hangsUp.attempts, 0, 'the second was never tried: the cut attempt did not count as a failure');
});

// A box whose broker is gone keeps trying at least every 8 s, however long
// the outage: when the fleet comes back after a restart, no box is left
// asleep for half a minute (RECONNECT_BACKOFF). The broker here is a port
// that takes each connection and drops it at once, so every attempt fails
// the way a restarting fleet's do; the test watches when the box tries.
import net from 'node:net';
import { pino } from 'pino';
import t from 'tap';
import { MqttSession } from '../../src/agent/session.js';
import { ChannelRouter } from '../../src/agent/router.js';
import { RECONNECT_BACKOFF } from '../../src/backoff.js';

const log = pino({ level: 'silent' });
const DEVICE = 'box-ceiling-1';
const WATCH_MS = 32_000;

t.test('after many failed attempts the box still tries within the ceiling', async (t) => {
  const attempts: number[] = [];
  const srv = net.createServer((socket) => {
    attempts.push(Date.now());
    socket.destroy();
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => srv.close(() => resolve())));
  const { port } = srv.address() as net.AddressInfo;
  const s = new MqttSession({
    url: `mqtt://127.0.0.1:${port}`,
    deviceId: DEVICE,
    username: DEVICE,
    password: 'pw',
    keepaliveSec: 5,
    connectTimeoutMs: 2000,
    router: new ChannelRouter(DEVICE, log),
    log,
    birth: async () => ({ agentVersion: '9.9.9-test' }),
  });
  t.teardown(() => s.close({ graceful: false }));
  const start = Date.now();
  s.start();
  await new Promise((r) => setTimeout(r, WATCH_MS));
  const end = Date.now();
  // The gaps between attempts, and from the last attempt to the end of the watch (still waiting).
  const times = [start, ...attempts, end];
  const gaps = times.slice(1).map((x, i) => x - times[i]!);
  const slack = 500;
  t.ok(attempts.length >= 5, `it kept trying (${attempts.length} attempts)`);
  t.ok(
    Math.max(...gaps) <= RECONNECT_BACKOFF.maxMs + slack,
    `no wait longer than the ${RECONNECT_BACKOFF.maxMs} ms ceiling (gaps ${gaps.join(', ')} ms)`,
  );
  t.ok(
    gaps.slice(-3).some((g) => g >= RECONNECT_BACKOFF.maxMs / 2 - slack),
    'and it did back off',
  );
});

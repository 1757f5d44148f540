// The readiness probe against the edge's real probe echo, over real UDP on 127.0.0.1.
import t from 'tap';
import { ProbeResponder } from '../../src/media/probe-responder.js';
import { runProbe } from '../../src/readiness/probe.js';

const TOKEN = 'meeting-token-0123456789abcdef';
const log = { info() {}, warn() {} };
const target = (port: number, over: Partial<Parameters<typeof runProbe>[0]> = {}) => ({
  edgeId: 'core',
  host: '127.0.0.1',
  port,
  token: TOKEN,
  rateKbps: 2000,
  durationMs: 500,
  packetBytes: 1000,
  ...over,
});

t.test('a paced burst comes back whole from an edge that accepts the token', async (t) => {
  const echo = await ProbeResponder.start({ host: '127.0.0.1', port: 0, accepts: (x) => x === TOKEN, log });
  t.teardown(() => echo.close());
  const r = await runProbe(target(echo.port), { waitMs: 500 });
  t.equal(r.sent, 125, '2 Mbit/s for 0.5 s in 1000-byte packets');
  t.equal(r.received, r.sent);
  t.equal(r.lossRate, 0);
  t.ok(r.rttMsP50 !== null && r.rttMsP50 >= 0);
  t.equal(r.throughputKbps, 2000);
  t.equal(echo.counters.echoed, 125);
});

t.test('a token the edge does not accept gets nothing back (fail closed), and is counted', async (t) => {
  const echo = await ProbeResponder.start({ host: '127.0.0.1', port: 0, accepts: () => false, log });
  t.teardown(() => echo.close());
  const r = await runProbe(target(echo.port, { durationMs: 200 }), { waitMs: 300 });
  t.equal(r.received, 0);
  t.equal(r.lossRate, 1);
  t.equal(echo.counters.dropped.token, r.sent);
  t.equal(echo.counters.echoed, 0);
});

t.test("the echo keeps to each source's byte budget: a probe above it loses the excess", async (t) => {
  // 100 kB/s for one source; the probe asks for 4 Mbit/s (500 kB/s) for 1 s.
  const echo = await ProbeResponder.start({
    host: '127.0.0.1',
    port: 0,
    accepts: (x) => x === TOKEN,
    perSourceBytesPerSec: 100_000,
    log,
  });
  t.teardown(() => echo.close());
  const r = await runProbe(target(echo.port, { rateKbps: 4000, durationMs: 1000 }), { waitMs: 300 });
  t.ok(r.lossRate > 0.5, `loss ${r.lossRate}`);
  t.ok(echo.counters.dropped['source-budget'] > 0);
  t.ok(r.throughputKbps <= 1700, `carried ${r.throughputKbps} kbit/s (budget 800 plus one second banked)`);
});

t.test('garbage and nobody listening: counted, never a crash', async (t) => {
  const echo = await ProbeResponder.start({ host: '127.0.0.1', port: 0, accepts: () => true, log });
  const port = echo.port;
  const dgram = await import('node:dgram');
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.send(Buffer.from('hello'), port, '127.0.0.1', () => r()));
  s.close();
  await new Promise((r) => setTimeout(r, 100));
  t.equal(echo.counters.dropped.malformed, 1);
  await echo.close();
  const r = await runProbe(target(port, { durationMs: 200 }), { waitMs: 200 });
  t.equal(r.received, 0, 'a closed port answers nothing');
  t.equal(r.lossRate, 1);
});

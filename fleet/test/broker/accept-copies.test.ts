// The MQTT listener accepts many connections per turn of the event loop
// (libuv accepts one per handle and turn): after a fleet restart 10,000
// boxes knock at once, and one a turn left the kernel's queue full.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import t, { type Test } from 'tap';
import { addAcceptCopies } from '../../src/broker/accept-copies.js';
import { startTestFleet, waitFor } from '../helpers/fleet.js';

const CLIENTS = 20;

/** Connections accepted in each turn of the loop, for CLIENTS that knocked while the loop was busy. */
async function acceptsPerTurn(t: Test, copies: number): Promise<number[]> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1' }, resolve));
  const extra = await addAcceptCopies(server, copies, { backlog: 511 });
  t.equal(extra.length, copies, `${copies} copies made`);
  t.teardown(() => {
    for (const s of [server, ...extra]) s.close();
  });
  let turn = 0;
  const perTurn: number[] = [];
  const sockets: net.Socket[] = [];
  server.on('connection', (s) => {
    sockets.push(s);
    perTurn[turn] = (perTurn[turn] ?? 0) + 1;
  });
  const { port } = server.address() as net.AddressInfo;
  const clients = Array.from({ length: CLIENTS }, () => net.connect(port, '127.0.0.1').on('error', () => undefined));
  t.teardown(() => {
    for (const s of [...clients, ...sockets]) s.destroy();
  });
  // net.connect() sends its SYN on the next tick; then the loop is held while the kernel queues them all.
  await new Promise<void>((resolve) => process.nextTick(resolve));
  const until = Date.now() + 300;
  while (Date.now() < until);
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      turn += 1;
      if (sockets.length >= CLIENTS || turn >= 500) resolve();
      else setImmediate(tick);
    };
    setImmediate(tick);
  });
  t.equal(sockets.length, CLIENTS, 'every connection accepted');
  return perTurn.filter((n) => n !== undefined);
}

t.test('a listener with 7 copies takes 8 waiting connections in one turn', async (t) => {
  const perTurn = await acceptsPerTurn(t, 7);
  t.equal(Math.max(...perTurn), 8, `accepted per turn: ${perTurn.join(', ')}`);
});

t.test('the copies hand their connections to the server, and close with it', async (t) => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1' }, resolve));
  const copies = await addAcceptCopies(server, 3, { backlog: 511 });
  const { port } = server.address() as net.AddressInfo;
  const seen: net.Socket[] = [];
  server.on('connection', (s) => {
    seen.push(s);
    s.end('hello');
  });
  for (let i = 0; i < 8; i++) {
    const c = net.connect(port, '127.0.0.1');
    const got = await new Promise<string>((resolve, reject) => {
      let text = '';
      c.on('data', (d) => (text += d.toString()));
      c.on('end', () => resolve(text));
      c.on('error', reject);
    });
    t.equal(got, 'hello', `connection ${i + 1} served by the server`);
  }
  t.equal(seen.length, 8);
  await Promise.all([server, ...copies].map((s) => new Promise((resolve) => s.close(resolve))));
  const refused = await new Promise<string>((resolve) => {
    const c = net.connect(port, '127.0.0.1', () => resolve('connected'));
    c.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
  });
  t.equal(refused, 'ECONNREFUSED', 'nothing listens once all are closed');
});

t.test('a helper that cannot start: an error to the caller, the server alone, no crash', async (t) => {
  const server = net.createServer((s) => s.end('hello'));
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1' }, resolve));
  t.teardown(() => server.close());
  // A spawn that fails also fails each handle sent to it, each with an 'error' of its own.
  await t.rejects(addAcceptCopies(server, 5, { backlog: 511, node: '/nonexistent/node' }), { code: 'ENOENT' });
  await new Promise((r) => setTimeout(r, 200));
  const { port } = server.address() as net.AddressInfo;
  const got = await new Promise<string>((resolve, reject) => {
    let text = '';
    const c = net.connect(port, '127.0.0.1');
    c.on('data', (d) => (text += d.toString()));
    c.on('end', () => resolve(text));
    c.on('error', reject);
  });
  t.equal(got, 'hello', 'the server still serves');
});

/** The kernel's line for the TCP socket listening on the port, split in fields. */
function listenerLine(port: number): string[] | undefined {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  return fs
    .readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .find((f) => f[1]?.endsWith(`:${hex}`) && f[3] === '0A');
}

/** How many of this process's descriptors are the TCP socket listening on the port. */
function listenerDescriptors(port: number): number {
  const line = listenerLine(port);
  if (!line) return 0;
  const target = `socket:[${line[9]}]`;
  return fs.readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`) === target;
    } catch {
      return false;
    }
  }).length;
}

t.test("the fleet's broker listens through 16 handles, and lets go of all of them", async (t) => {
  const { fleet } = await startTestFleet(t);
  // The copies come a few milliseconds after the listener, which serves alone meanwhile.
  await waitFor(() => listenerDescriptors(fleet.mqttPort) === 16, 5000, 'the listener and 15 copies');
  // ss (iproute2) shows a listening socket's accept queue size as its Send-Q.
  const queue = Number(
    execFileSync('ss', ['-Hltn', `sport = :${fleet.mqttPort}`], { encoding: 'utf8' })
      .trim()
      .split(/\s+/)[2],
  );
  const somaxconn = Number(fs.readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));
  t.equal(queue, Math.min(8192, somaxconn), 'the copies keep the deep accept queue');
  await fleet.close();
  t.equal(listenerDescriptors(fleet.mqttPort), 0, 'none left after the close');
});

import net from 'node:net';
import { Aedes } from 'aedes';
import { canDevicePublish, canDeviceSubscribe } from '@diemcau/shared';

// A real aedes broker on 127.0.0.1 with the fleet's rules in miniature:
// username/password per device, a device publishes and subscribes only under
// its own topics. Every accepted publish is recorded for assertions.

export interface Published {
  topic: string;
  payload: string;
  retain: boolean;
  clientId: string | null;
}

export interface TestBroker {
  port: number;
  url: string;
  aedes: Aedes;
  published: Published[];
  /** Waits until `pred` holds for the recorded publishes (polling, no timing assertion). */
  waitFor(pred: (all: Published[]) => boolean, what: string, timeoutMs?: number): Promise<void>;
  /** Inject a message as the fleet would (e.g. a command for a device). */
  publish(topic: string, payload: string, retain?: boolean): Promise<void>;
  /** From now on publishes are never acknowledged (nor refused): a broker hung mid-delivery. */
  freeze(): void;
  close(): Promise<void>;
}

export async function startBroker(opts: {
  port?: number;
  credentials: Map<string, string>;
  published?: Published[];
}): Promise<TestBroker> {
  const published = opts.published ?? [];
  const frozen = { value: false };
  const held: (() => void)[] = [];
  const aedes = await Aedes.createBroker({
    authenticate: (client, username, password, done) => {
      const ok =
        username !== undefined && client.id === username && opts.credentials.get(username) === password?.toString();
      if (ok) return done(null, true);
      const err = Object.assign(new Error('bad credentials'), { returnCode: 4 as const });
      done(err, null);
    },
    authorizePublish: (client, packet, cb) => {
      if (frozen.value) return void held.push(() => cb(new Error('broker closed'))); // no PUBACK until close
      if (client && !canDevicePublish(client.id, packet.topic)) return cb(new Error('not your topic'));
      cb(null);
    },
    authorizeSubscribe: (client, sub, cb) => {
      if (!canDeviceSubscribe(client.id, sub.topic)) return cb(new Error('not your topic'));
      cb(null, sub);
    },
  });
  aedes.on('publish', (packet, client) => {
    if (!client) return; // broker-internal ($SYS) and our own injections
    published.push({
      topic: packet.topic,
      payload: packet.payload.toString(),
      retain: packet.retain,
      clientId: client.id,
    });
  });
  const server = net.createServer(aedes.handle);
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', resolve);
  });
  const port = (server.address() as net.AddressInfo).port;
  let closed = false;
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    aedes,
    published,
    async waitFor(pred, what, timeoutMs = 30_000) {
      const until = Date.now() + timeoutMs;
      while (!pred(published)) {
        if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    publish(topic, payload, retain = false) {
      return new Promise((resolve, reject) =>
        aedes.publish({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, retain, dup: false }, (err) =>
          err ? reject(err) : resolve(),
        ),
      );
    },
    freeze() {
      frozen.value = true;
    },
    async close() {
      if (closed) return;
      closed = true;
      frozen.value = false;
      for (const release of held.splice(0)) release();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
    },
  };
}

// Hand-built MQTT 3.1.1 packets for clients that misbehave on purpose
// (silent after CONNECT, oversized packets), which mqtt.js will not produce.
import { connect, type Socket } from 'node:net';

const str = (s: string): Buffer => {
  const b = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
};

export function remainingLength(n: number): Buffer {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}

export function connectPacket(o: { clientId: string; username: string; password: string; keepalive: number }): Buffer {
  const keep = Buffer.alloc(2);
  keep.writeUInt16BE(o.keepalive);
  const body = Buffer.concat([
    str('MQTT'),
    Buffer.from([4, 0x80 | 0x40 | 0x02]),
    keep,
    str(o.clientId),
    str(o.username),
    str(o.password),
  ]);
  return Buffer.concat([Buffer.from([0x10]), remainingLength(body.length), body]);
}

/** The header of a QoS 0 PUBLISH announcing `bodyBytes` bytes (topic included). */
export function publishHeader(topic: string, bodyBytes: number): Buffer {
  return Buffer.concat([Buffer.from([0x30]), remainingLength(bodyBytes), str(topic)]);
}

export async function rawConnect(port: number): Promise<Socket> {
  const sock = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  return sock;
}

/** Resolves with the first bytes the broker sends (a CONNACK is 4 bytes: 0x20 0x02 flags code). */
export const firstBytes = (sock: Socket): Promise<Buffer> =>
  new Promise((resolve) => sock.once('data', (d: Buffer) => resolve(d)));

export const closed = (sock: Socket): Promise<void> =>
  new Promise((resolve) => (sock.destroyed ? resolve() : sock.once('close', () => resolve())));

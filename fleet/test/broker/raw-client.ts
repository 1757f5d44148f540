// An MQTT client that speaks packet by packet, for boxes that misbehave on
// purpose: QoS 2 without PUBREL, persistent sessions, odd wills. mqtt.js
// completes every handshake itself, so it cannot play these parts. The bench
// (bench/abuse.ts) uses it too.
import { connect, type Socket } from 'node:net';
import mqttPacket, { type IConnackPacket, type IConnectPacket, type Packet } from 'mqtt-packet';

export class RawClient {
  readonly received: Packet[] = [];
  private readonly waiters: Array<() => void> = [];
  private closedFlag = false;
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    parser.on('packet', (p: Packet) => {
      this.received.push(p);
      this.wake();
    });
    parser.on('error', () => socket.destroy());
    socket.on('data', (d: Buffer) => parser.parse(d));
    socket.on('error', () => socket.destroy());
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.closedFlag = true;
        this.wake();
        resolve();
      }),
    );
  }

  static async open(port: number, host = '127.0.0.1'): Promise<RawClient> {
    const socket = connect(port, host);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawClient(socket);
  }

  get isClosed(): boolean {
    return this.closedFlag;
  }

  send(packet: Packet): boolean {
    if (this.closedFlag) return false;
    return this.socket.write(mqttPacket.generate(packet));
  }

  /** Sends CONNECT; resolves with the CONNACK's return code, or 'closed' when the broker hangs up first. */
  async login(o: Omit<IConnectPacket, 'cmd'>, timeoutMs = 5000): Promise<number | 'closed'> {
    this.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, keepalive: 30, clean: true, ...o });
    const ack = await this.next('connack', timeoutMs);
    return ack ? ((ack as IConnackPacket).returnCode ?? 0) : 'closed';
  }

  /** The next packet of this kind (already received ones count), or undefined when the connection closed or time ran out. */
  async next(cmd: Packet['cmd'], timeoutMs = 5000): Promise<Packet | undefined> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const i = this.received.findIndex((p) => p.cmd === cmd);
      if (i >= 0) return this.received.splice(i, 1)[0];
      const left = end - Date.now();
      if (this.closedFlag || left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

import { EventEmitter } from 'node:events';
import { connect, type MqttClient } from 'mqtt';
import {
  BROKERS_TOPIC,
  DEVICE_SUBSCRIBE,
  deviceTopic,
  presenceCodec,
  type DevicePublishChannel,
  type Presence,
} from '@diemcau/shared';
import { backoffDelay, RECONNECT_BACKOFF, sleep, type BackoffPolicy } from '../backoff.js';
import type { ChannelRouter } from './router.js';

// The device's MQTT connection. This module is the only owner of the client.
//
// Each connection attempt gets a fresh MqttClient with reconnect switched off;
// the loop here reconnects with jittered backoff. Nothing survives from one
// connection to the next inside MQTT.js (its offline queue and in-flight store
// would re-send behind our back), so the on-disk queue is the one place that
// decides what is re-sent.
//
// On every connect: the retained last-will "offline" is armed (in CONNECT), the
// three inbound channels are subscribed, then the retained birth "online" goes
// out. A graceful close publishes "offline" itself, since a clean DISCONNECT
// makes the broker discard the will.

export interface SessionLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export interface SessionOptions {
  url: string;
  /**
   * Every broker of a fleet that runs as several nodes (`url` among them).
   * An attempt that gets no CONNACK moves to the next one after the usual
   * jittered backoff; a session that ends retries its own broker first.
   */
  urls?: readonly string[] | undefined;
  deviceId: string;
  username: string;
  password: string;
  keepaliveSec: number;
  /** Everything of the birth but state/at, asked for on every connect (peripherals change). */
  birth: () => Promise<Omit<Presence, 'v' | 'state' | 'at'>>;
  router: ChannelRouter;
  log: SessionLog;
  /** Between connection attempts; RECONNECT_BACKOFF unless set. */
  backoff?: BackoffPolicy;
  connectTimeoutMs?: number;
  /** PEM of the CA to trust for mqtts:// instead of the system store. */
  ca?: string | undefined;
  /**
   * The fleet's broker list (BROKERS_TOPIC), as it arrives on this
   * connection; unset: the box does not ask for it (a broker named by an override).
   */
  onBrokers?: (payload: Buffer) => void;
}

interface SessionEvents {
  connected: [];
  disconnected: [];
}

export interface PublishOptions {
  qos: 0 | 1;
  retain?: boolean;
}

export class MqttSession extends EventEmitter<SessionEvents> {
  private client: MqttClient | undefined;
  private closed = false;
  private readonly stop = new AbortController();
  private loop: Promise<void> | undefined;
  private connectedNow = false;
  private urls: readonly string[];
  private urlIndex = 0;
  /** Set by retarget(): the attempt under way was cut for a new list, whose first broker goes next. */
  private retargeted = false;
  private ca: string | undefined;
  connects = 0;

  constructor(private readonly opts: SessionOptions) {
    super();
    this.urls = [opts.url, ...(opts.urls ?? []).filter((u) => u !== opts.url)];
    this.ca = opts.ca;
  }

  /**
   * Another fleet's brokers (and CA) from now on: a move the box has checked
   * (move.ts). The current connection says "offline" and ends; the loop's
   * next attempt goes to the first new broker. The on-disk queue is not
   * touched: whatever the old broker did not acknowledge goes to the new one.
   */
  retarget(urls: readonly string[], ca: string | undefined): void {
    if (urls.length === 0) throw new Error('retarget needs at least one broker');
    this.urls = [...new Set(urls)];
    this.urlIndex = 0;
    this.ca = ca;
    this.retargeted = true;
    const client = this.client;
    if (client && this.connectedNow) void this.leave(client);
    else client?.stream?.destroy();
  }

  /** The broker the next attempt goes to. */
  get url(): string {
    return this.urls[this.urlIndex]!;
  }

  get connected(): boolean {
    return this.connectedNow;
  }

  /** Every broker the session fails over between, the next one first. */
  get brokers(): readonly string[] {
    return [...this.urls.slice(this.urlIndex), ...this.urls.slice(0, this.urlIndex)];
  }

  /**
   * A new broker list (the fleet's, accepted by broker-list.ts). The broker
   * in use stays first, if it is still listed; the connection is not cut.
   */
  setUrls(urls: readonly string[]): void {
    if (urls.length === 0) return;
    const current = this.url;
    this.urls = urls.includes(current) ? [current, ...urls.filter((u) => u !== current)] : [...urls];
    this.urlIndex = 0;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Resolves when connected, or when the session is closed (check `connected`). */
  waitConnected(): Promise<void> {
    if (this.connectedNow || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.off('connected', done);
        this.stop.signal.removeEventListener('abort', done);
        resolve();
      };
      this.on('connected', done);
      this.stop.signal.addEventListener('abort', done, { once: true });
    });
  }

  /** QoS 1 resolves on PUBACK. Rejects at once when disconnected (no hidden offline queue). */
  publish(channel: DevicePublishChannel, payload: string, opts: PublishOptions): Promise<void> {
    const client = this.client;
    if (!client || !this.connectedNow) return Promise.reject(new Error('not connected'));
    const topic = deviceTopic(this.opts.deviceId, channel);
    return new Promise<void>((resolve, reject) => {
      const onClose = (): void => reject(new Error('connection closed before the broker acknowledged'));
      client.once('close', onClose);
      client.publish(topic, payload, { qos: opts.qos, retain: opts.retain ?? false }, (err) => {
        client.off('close', onClose);
        if (err) reject(err);
        else resolve();
      });
    });
  }

  /**
   * Cuts the TCP connection without a DISCONNECT, as a crash or a pulled cable
   * would: the broker publishes the will. The session reconnects by itself.
   * For the simulator and the benchmark.
   */
  dropConnection(): void {
    this.client?.stream?.destroy();
  }

  private async run(): Promise<void> {
    let attempt = 0;
    /** Brokers that failed since the last backoff. */
    let failed = 0;
    while (!this.closed) {
      // A new list starts a new round; an attempt it cut short was no broker's failure.
      if (this.retargeted) [attempt, failed] = [0, 0];
      this.retargeted = false;
      const reachedBroker = await this.connectOnce();
      if (this.closed) break;
      if (this.retargeted) continue;
      if (reachedBroker) [attempt, failed] = [0, 0];
      else if (this.urls.length > 1) {
        this.urlIndex = (this.urlIndex + 1) % this.urls.length;
        this.opts.log.info({ url: this.url }, 'broker unreachable; trying the next one');
        // Each broker of the list gets its turn before a backoff: a dead node
        // refuses at once, and a backoff spent on it doubled the time its
        // boxes took to reach the node that took over.
        if (++failed < this.urls.length) continue;
      }
      failed = 0;
      const delay = backoffDelay(attempt++, this.opts.backoff ?? RECONNECT_BACKOFF);
      this.opts.log.debug({ delayMs: delay }, 'reconnecting after delay');
      await sleep(delay, this.stop.signal);
    }
  }

  /** One connection, from CONNECT to close. Returns whether it got CONNACK. */
  private connectOnce(): Promise<boolean> {
    const { deviceId } = this.opts;
    const presenceTopic = deviceTopic(deviceId, 'presence');
    const will: Presence = { v: 1, state: 'offline', at: new Date().toISOString() };
    const client = connect(this.url, {
      clientId: deviceId,
      username: this.opts.username,
      password: this.opts.password,
      keepalive: this.opts.keepaliveSec,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: this.opts.connectTimeoutMs ?? 15_000,
      protocolVersion: 4,
      queueQoSZero: false,
      resubscribe: false,
      will: { topic: presenceTopic, payload: Buffer.from(presenceCodec.encode(will)), qos: 1, retain: true },
      ...(this.ca ? { ca: this.ca } : {}),
    });
    this.client = client;
    let gotConnack = false;
    return new Promise<boolean>((resolve) => {
      client.on('connect', () => {
        gotConnack = true;
        this.connects++;
        void this.onConnected(client);
      });
      client.on('message', (topic, payload, packet) => {
        if (topic === BROKERS_TOPIC) this.opts.onBrokers?.(payload);
        else this.opts.router.dispatch(topic, payload, packet.retain);
      });
      client.on('error', (err) =>
        this.opts.log.warn({ err: { message: err.message, code: (err as { code?: unknown }).code } }, 'mqtt error'),
      );
      client.once('close', () => {
        if (this.connectedNow) {
          this.connectedNow = false;
          this.opts.log.info({}, 'disconnected from fleet');
          this.emitSafe('disconnected');
        }
        client.removeAllListeners('message');
        // Forced end: fails MQTT.js's pending callbacks now instead of re-sending them later.
        client.end(true);
        if (this.client === client) this.client = undefined;
        resolve(gotConnack);
      });
    });
  }

  private async onConnected(client: MqttClient): Promise<void> {
    const { deviceId } = this.opts;
    try {
      await client.subscribeAsync(
        DEVICE_SUBSCRIBE.map((c) => deviceTopic(deviceId, c)),
        { qos: 1 },
      );
      // Apart, and not awaited: a fleet older than the broker list refuses
      // the topic, and that must not fail the session.
      if (this.opts.onBrokers)
        client
          .subscribeAsync(BROKERS_TOPIC, { qos: 1 })
          .catch((err: unknown) =>
            this.opts.log.debug({ err: { message: (err as Error).message } }, 'fleet does not offer a broker list'),
          );
      const birth: Presence = { v: 1, state: 'online', at: new Date().toISOString(), ...(await this.opts.birth()) };
      await client.publishAsync(deviceTopic(deviceId, 'presence'), presenceCodec.encode(birth), {
        qos: 1,
        retain: true,
      });
    } catch (err) {
      // Without subscriptions and birth the fleet sees a half-present device: start over.
      this.opts.log.warn({ err: { message: (err as Error).message } }, 'session setup failed; reconnecting');
      client.stream?.destroy();
      return;
    }
    if (client !== this.client || this.closed) return;
    this.connectedNow = true;
    this.opts.log.info({ connects: this.connects }, 'connected to fleet');
    this.emitSafe('connected');
  }

  /** Retained "offline" first (a clean DISCONNECT suppresses the will), then DISCONNECT. */
  private async leave(client: MqttClient): Promise<void> {
    const offline: Presence = { v: 1, state: 'offline', at: new Date().toISOString() };
    await Promise.race([
      client.publishAsync(deviceTopic(this.opts.deviceId, 'presence'), presenceCodec.encode(offline), {
        qos: 1,
        retain: true,
      }),
      sleep(2000),
    ]).catch(() => undefined);
    // A clean end waits for in-flight acks; a broker that stopped answering gets 3 s.
    const ended = await Promise.race([
      new Promise<boolean>((resolve) => client.end(false, {}, () => resolve(true))),
      sleep(3000).then(() => false),
    ]);
    // end() is already under way and ignores a second call: cut the socket itself.
    if (!ended) client.stream?.destroy();
  }

  private emitSafe(event: keyof SessionEvents): void {
    for (const l of this.listeners(event)) {
      try {
        (l as () => void)();
      } catch (err) {
        this.opts.log.warn({ err: { message: (err as Error).message }, event }, 'session listener failed');
      }
    }
  }

  /**
   * Idempotent. Graceful: retained "offline" goes out first (a clean DISCONNECT
   * suppresses the will), then DISCONNECT. Otherwise the socket is just closed.
   */
  async close(opts: { graceful: boolean } = { graceful: true }): Promise<void> {
    if (this.closed) return this.loop;
    this.closed = true;
    this.stop.abort();
    const client = this.client;
    if (client && this.connectedNow && opts.graceful) {
      await this.leave(client);
    } else {
      client?.end(true);
    }
    this.connectedNow = false;
    await this.loop;
  }
}

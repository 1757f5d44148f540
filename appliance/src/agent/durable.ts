import { DiemcauError, MAX_PAYLOAD_BYTES, type DevicePublishChannel } from '@diemcau/shared';
import type { DurableQueue, QueueHead } from '../queue/index.js';
import { sleep } from '../backoff.js';
import type { MqttSession } from './session.js';

// publishDurable(): the way to send anything the fleet must not miss
// (telemetry, command results, OTA outcomes). The record goes to the on-disk
// queue first; one loop moves the head to the broker with QoS 1 and removes it
// only after PUBACK. One in flight at a time keeps the order trivially right;
// a backlog drains at one round trip per record, which on the province's
// network is thousands a minute, far more than a box produces.

export interface DurableLog {
  warn(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

/** Gives a record its last touches at send time, e.g. telemetry's `dropped` count. */
export type Decorate = (head: QueueHead) => string;

/** After this many failed sends of the same record while connected, it is dropped as poison. */
const MAX_ATTEMPTS = 10;

export interface DurablePublisherStats {
  sent: number;
  poisoned: number;
}

export class DurablePublisher {
  private closed = false;
  private loop: Promise<void> | undefined;
  private readonly stop = new AbortController();
  private wake: (() => void) | undefined;
  private readonly offAppend: () => void;
  private readonly counts: DurablePublisherStats = { sent: 0, poisoned: 0 };

  constructor(
    private readonly queue: DurableQueue,
    private readonly session: MqttSession,
    private readonly log: DurableLog,
    private readonly decorate: Decorate = (h) => h.payload,
  ) {
    this.offAppend = queue.onAppend(() => this.wake?.());
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Resolves once the record is in the on-disk queue (not when delivered). */
  async publishDurable(channel: DevicePublishChannel, payload: string): Promise<void> {
    const size = Buffer.byteLength(payload);
    if (size > MAX_PAYLOAD_BYTES) throw new DiemcauError('PROTO_ERR_TOO_LARGE', `${channel}: ${size} bytes`);
    await this.queue.append(channel, payload);
  }

  stats(): DurablePublisherStats {
    return { ...this.counts };
  }

  private async run(): Promise<void> {
    let attempts = 0;
    let lastIndex = -1;
    while (!this.closed) {
      const head = this.queue.peek();
      if (!head) {
        await this.waitForAppend();
        continue;
      }
      if (!this.session.connected) {
        await this.session.waitConnected();
        continue;
      }
      if (head.index !== lastIndex) [lastIndex, attempts] = [head.index, 0];
      try {
        await this.session.publish(head.channel as DevicePublishChannel, this.decorate(head), { qos: 1 });
        this.counts.sent++;
        await this.queue.ack(head.index);
      } catch (err) {
        if (this.closed) break;
        // Lost connection mid-send is normal: the record stays and goes again after reconnect.
        if (++attempts >= MAX_ATTEMPTS) {
          this.counts.poisoned++;
          this.log.warn(
            { index: head.index, channel: head.channel, err: { message: (err as Error).message } },
            'record failed every send; dropped',
          );
          await this.queue.ack(head.index);
          continue;
        }
        this.log.debug({ index: head.index, err: { message: (err as Error).message } }, 'send failed; will retry');
        await sleep(Math.min(5000, 100 * 2 ** attempts), this.stop.signal);
      }
    }
  }

  private waitForAppend(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.wake = undefined;
        this.stop.signal.removeEventListener('abort', done);
        resolve();
      };
      this.wake = done;
      this.stop.signal.addEventListener('abort', done, { once: true });
      // An append between peek() and here would otherwise be missed until the next one.
      if (this.queue.peek()) done();
    });
  }

  /** Idempotent; the in-flight record (if any) stays queued for the next start. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.offAppend();
    this.stop.abort();
    await this.loop;
  }
}

import type { Aedes, Client, PublishPacket, PubrelPacket, Subscription } from 'aedes';
import type { Logger } from 'pino';
import { commandCodec, deviceTopic, parseDeviceTopic, type Command, type CommandResult } from '@diemcau/shared';
import { applyEvent, planDelivery, type CommandEvent, type CommandRecord, type Transition } from './lifecycle.js';
import type { CommandsRepo } from './repo.js';

// The one owner of command traffic on the broker. It publishes with QoS 1,
// marks a command delivered once it is handed to the device's live session
// (or on the PUBACK of a persistent session), and re-sends every open
// command whenever a device subscribes to its commands topic again (that is
// the moment it can hear them, after a reconnect or an agent restart).
// Duplicates are expected: the device answers a repeated id from its store.

export interface DispatcherCounters {
  published: number;
  acked: number;
  results: number;
  duplicateResults: number;
  unknownResults: number;
  expired: number;
}

export interface Dispatcher {
  /** Publishes fresh commands (the device may be offline: then they wait for its next subscribe). */
  send(records: readonly CommandRecord[]): Promise<void>;
  /** Expires or re-sends everything open for one device. */
  flushDevice(deviceId: string): Promise<void>;
  /** Ingest handler for 'command-results' (already decoded; the device id is the authenticated one). */
  handleResult(deviceId: string, result: CommandResult): Promise<void>;
  /** Marks every open command past its expiry as expired. */
  sweep(): Promise<number>;
  readonly counters: DispatcherCounters;
  close(): void;
}

export interface DispatcherOptions {
  broker: Aedes;
  store: CommandsRepo;
  log: Logger;
  /** Called after every stored change (audit, health, API watchers). */
  onChange?: (record: CommandRecord, event: CommandEvent) => void;
  /** How often to look for expired commands; 0 turns the timer off (tests sweep by hand). */
  sweepIntervalMs?: number;
  now?: () => Date;
}

export const toWire = (r: CommandRecord): Command => ({
  v: 1,
  id: r.id,
  type: r.type,
  params: r.params,
  issuedAt: r.issuedAt,
  expiresAt: r.expiresAt,
  ...(r.force ? { force: r.force } : {}),
});

export function createDispatcher(opts: DispatcherOptions): Dispatcher {
  const { broker, store, log } = opts;
  const now = () => (opts.now ? opts.now() : new Date()).toISOString();
  const counters: DispatcherCounters = {
    published: 0,
    acked: 0,
    results: 0,
    duplicateResults: 0,
    unknownResults: 0,
    expired: 0,
  };
  let closed = false;

  // One state change: the command as stored now, the event applied, the
  // result written, in one transaction under the command's lock, so that a
  // result and a late PUBACK (or two fleet nodes) never write over each other.
  const apply = async (id: string, ev: CommandEvent): Promise<Transition | undefined> => {
    const t = await store.transaction(async () => {
      const rec = await store.get(id);
      if (!rec) return undefined;
      const t = applyEvent(rec, ev);
      if (t.changed) await store.update(t.next);
      return t;
    }, `command:${id}`);
    if (!t?.changed) return t;
    try {
      opts.onChange?.(t.next, ev);
    } catch (err) {
      // A failing observer (audit, alerts) must not stop delivery.
      log.error({ err, commandId: id }, 'command observer failed');
    }
    return t;
  };

  // Is the device's session connected and subscribed to its commands topic now?
  const liveSubscriber = (deviceId: string, topic: string): boolean => {
    const clients = (
      broker as unknown as { clients: Record<string, { subscriptions?: Record<string, unknown> } | undefined> }
    ).clients;
    return clients[deviceId]?.subscriptions?.[topic] !== undefined;
  };

  const publish = async (rec: CommandRecord): Promise<void> => {
    if (closed) return;
    const topic = deviceTopic(rec.deviceId, 'commands');
    const packet = {
      cmd: 'publish' as const,
      topic,
      payload: Buffer.from(commandCodec.encode(toWire(rec))),
      qos: 1 as const,
      retain: false,
      dup: false,
    };
    await apply(rec.id, { kind: 'sent', at: now() });
    counters.published++;
    const live = liveSubscriber(rec.deviceId, topic);
    broker.publish(packet, (err) => {
      if (err) {
        log.warn(
          { err, commandId: rec.id, deviceId: rec.deviceId },
          'command publish failed; re-sent on next subscribe',
        );
        return;
      }
      // Agents use clean sessions, for which aedes keeps no outgoing packet and
      // so reports PUBACKs without saying which message they acknowledged.
      // Handed to a live, subscribed session is therefore 'delivered'; if the
      // link dies before the PUBACK, the next subscribe sends it again anyway.
      if (!live || closed) return;
      apply(rec.id, { kind: 'acked', at: now() }).catch((e: unknown) =>
        log.error({ err: e, commandId: rec.id }, 'marking a command delivered failed'),
      );
    });
  };

  const flushDevice = async (deviceId: string): Promise<void> => {
    const plan = planDelivery(await store.openForDevice(deviceId), now());
    for (const r of plan.expire) {
      await apply(r.id, { kind: 'expire', at: now() });
      counters.expired++;
    }
    for (const r of plan.send) await publish(r);
    if (plan.send.length > 0) log.info({ deviceId, count: plan.send.length }, 'commands sent to device');
  };

  const onSubscribe = (subs: Subscription[], client: Client): void => {
    const devices = new Set<string>();
    for (const s of subs) {
      const p = parseDeviceTopic(s.topic);
      if (p && p.channel === 'commands') devices.add(p.deviceId);
    }
    for (const id of devices) {
      flushDevice(id).catch((err: unknown) =>
        log.error({ err, deviceId: id, clientId: client?.id }, 'flushing commands failed'),
      );
    }
  };

  // Persistent sessions: aedes hands back the acknowledged packet itself.
  const onAck = (packet: PublishPacket | PubrelPacket | undefined, client: Client): void => {
    if (!packet || packet.cmd !== 'publish') return;
    const p = parseDeviceTopic(packet.topic);
    if (!p || p.channel !== 'commands') return;
    const decoded = commandCodec.decode(packet.payload as Buffer);
    if (!decoded.ok) return;
    const id = decoded.value.id;
    apply(id, { kind: 'acked', at: now() })
      .then((t) => {
        if (!t) return;
        counters.acked++;
        log.debug({ commandId: id, clientId: client?.id }, 'command acknowledged by device');
      })
      .catch((err: unknown) => log.error({ err, commandId: id }, 'recording an acknowledgement failed'));
  };

  const handleResult = async (deviceId: string, result: CommandResult): Promise<void> => {
    const rec = await store.get(result.commandId);
    if (!rec || rec.deviceId !== deviceId) {
      counters.unknownResults++;
      log.warn({ deviceId, commandId: result.commandId }, 'result for a command this device was not sent');
      return;
    }
    if (!(await apply(rec.id, { kind: 'result', result, at: now() }))?.changed) {
      counters.duplicateResults++;
      return;
    }
    counters.results++;
    log.info({ deviceId, commandId: rec.id, type: rec.type, status: result.status }, 'command result');
  };

  const sweep = async (): Promise<number> => {
    let n = 0;
    for (;;) {
      const due = await store.dueToExpire(now(), 500);
      if (due.length === 0) break;
      const before = n;
      for (const r of due) {
        if ((await apply(r.id, { kind: 'expire', at: now() }))?.changed) n++;
      }
      // Rows that did not change would come back for ever.
      if (n === before) break;
    }
    counters.expired += n;
    if (n > 0) log.info({ count: n }, 'commands expired without a result');
    return n;
  };

  broker.on('subscribe', onSubscribe);
  broker.on('ack', onAck);
  const interval = opts.sweepIntervalMs ?? 10_000;
  const timer =
    interval > 0
      ? setInterval(() => {
          sweep().catch((err: unknown) => log.error({ err }, 'command expiry sweep failed'));
        }, interval)
      : null;
  timer?.unref();

  return {
    send: async (records) => {
      for (const r of records) await publish(r);
    },
    flushDevice,
    handleResult,
    sweep,
    counters,
    close() {
      if (closed) return;
      closed = true;
      if (timer) clearInterval(timer);
      broker.removeListener('subscribe', onSubscribe);
      broker.removeListener('ack', onAck);
    },
  };
}

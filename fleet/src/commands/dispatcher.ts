import type { Aedes, Client, PublishPacket, PubrelPacket, Subscription } from 'aedes';
import type { Logger } from 'pino';
import { commandCodec, deviceTopic, parseDeviceTopic, type Command, type CommandResult } from '@diemcau/shared';
import { applyEvent, planDelivery, type CommandEvent, type CommandRecord, type Transition } from './lifecycle.js';
import type { CommandStore } from './store.js';

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
  send(records: readonly CommandRecord[]): void;
  /** Expires or re-sends everything open for one device. */
  flushDevice(deviceId: string): void;
  /** Ingest handler for 'command-results' (already decoded; the device id is the authenticated one). */
  handleResult(deviceId: string, result: CommandResult): void;
  /** Marks every open command past its expiry as expired. */
  sweep(): number;
  readonly counters: DispatcherCounters;
  close(): void;
}

export interface DispatcherOptions {
  broker: Aedes;
  store: CommandStore;
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
  const counters: DispatcherCounters = { published: 0, acked: 0, results: 0, duplicateResults: 0, unknownResults: 0, expired: 0 };
  let closed = false;

  const apply = (rec: CommandRecord, ev: CommandEvent): Transition => {
    const t = applyEvent(rec, ev);
    if (!t.changed) return t;
    store.update(t.next);
    try {
      opts.onChange?.(t.next, ev);
    } catch (err) {
      // A failing observer (audit, alerts) must not stop delivery.
      log.error({ err, commandId: rec.id }, 'command observer failed');
    }
    return t;
  };

  // Is the device's session connected and subscribed to its commands topic now?
  const liveSubscriber = (deviceId: string, topic: string): boolean => {
    const clients = (broker as unknown as { clients: Record<string, { subscriptions?: Record<string, unknown> } | undefined> }).clients;
    return clients[deviceId]?.subscriptions?.[topic] !== undefined;
  };

  const publish = (rec: CommandRecord): void => {
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
    apply(rec, { kind: 'sent', at: now() });
    counters.published++;
    const live = liveSubscriber(rec.deviceId, topic);
    broker.publish(packet, (err) => {
      if (err) {
        log.warn({ err, commandId: rec.id, deviceId: rec.deviceId }, 'command publish failed; re-sent on next subscribe');
        return;
      }
      // Agents use clean sessions, for which aedes keeps no outgoing packet and
      // so reports PUBACKs without saying which message they acknowledged.
      // Handed to a live, subscribed session is therefore 'delivered'; if the
      // link dies before the PUBACK, the next subscribe sends it again anyway.
      if (!live || closed) return;
      const fresh = store.get(rec.id);
      if (fresh) apply(fresh, { kind: 'acked', at: now() });
    });
  };

  const flushDevice = (deviceId: string): void => {
    const plan = planDelivery(store.openForDevice(deviceId), now());
    for (const r of plan.expire) {
      apply(r, { kind: 'expire', at: now() });
      counters.expired++;
    }
    for (const r of plan.send) publish(r);
    if (plan.send.length > 0) log.info({ deviceId, count: plan.send.length }, 'commands sent to device');
  };

  const onSubscribe = (subs: Subscription[], client: Client): void => {
    const devices = new Set<string>();
    for (const s of subs) {
      const p = parseDeviceTopic(s.topic);
      if (p && p.channel === 'commands') devices.add(p.deviceId);
    }
    for (const id of devices) {
      try {
        flushDevice(id);
      } catch (err) {
        log.error({ err, deviceId: id, clientId: client?.id }, 'flushing commands failed');
      }
    }
  };

  // Persistent sessions: aedes hands back the acknowledged packet itself.
  const onAck = (packet: PublishPacket | PubrelPacket | undefined, client: Client): void => {
    if (!packet || packet.cmd !== 'publish') return;
    const p = parseDeviceTopic(packet.topic);
    if (!p || p.channel !== 'commands') return;
    const decoded = commandCodec.decode(packet.payload as Buffer);
    if (!decoded.ok) return;
    const rec = store.get(decoded.value.id);
    if (!rec) return;
    counters.acked++;
    apply(rec, { kind: 'acked', at: now() });
    log.debug({ commandId: rec.id, clientId: client?.id }, 'command acknowledged by device');
  };

  const handleResult = (deviceId: string, result: CommandResult): void => {
    const rec = store.get(result.commandId);
    if (!rec || rec.deviceId !== deviceId) {
      counters.unknownResults++;
      log.warn({ deviceId, commandId: result.commandId }, 'result for a command this device was not sent');
      return;
    }
    if (!apply(rec, { kind: 'result', result, at: now() }).changed) {
      counters.duplicateResults++;
      return;
    }
    counters.results++;
    log.info({ deviceId, commandId: rec.id, type: rec.type, status: result.status }, 'command result');
  };

  const sweep = (): number => {
    let n = 0;
    for (;;) {
      const due = store.dueToExpire(now(), 500);
      if (due.length === 0) break;
      for (const r of due) {
        apply(r, { kind: 'expire', at: now() });
        n++;
      }
    }
    counters.expired += n;
    if (n > 0) log.info({ count: n }, 'commands expired without a result');
    return n;
  };

  broker.on('subscribe', onSubscribe);
  broker.on('ack', onAck);
  const interval = opts.sweepIntervalMs ?? 10_000;
  const timer = interval > 0 ? setInterval(() => {
    try {
      sweep();
    } catch (err) {
      log.error({ err }, 'command expiry sweep failed');
    }
  }, interval) : null;
  timer?.unref();

  return {
    send: (records) => records.forEach(publish),
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

import type { CommandResult, CommandType } from '@diemcau/shared';

// The life of one command on the fleet side, as a pure state machine:
//   queued → delivered (the device acknowledged the MQTT publish)
//          → succeeded | failed | rejected | expired (the device's result)
//   queued | delivered → expired (the fleet gave up: past expiresAt, no result)
// The device owns the truth: a result that arrives after the fleet expired a
// command replaces the fleet's guess, but a second result never replaces the first.

export const COMMAND_STATES = ['queued', 'delivered', 'succeeded', 'failed', 'rejected', 'expired'] as const;
export type CommandState = (typeof COMMAND_STATES)[number];

export const isTerminal = (s: CommandState): boolean => s !== 'queued' && s !== 'delivered';

export interface CommandRecord {
  id: string;
  batchId: string | null;
  deviceId: string;
  siteId: string;
  type: CommandType;
  params: Record<string, unknown>;
  issuedBy: string;
  issuedAt: string;
  expiresAt: string;
  force: { reason: string } | null;
  status: CommandState;
  /** How many times the fleet published it (re-sent on every reconnect until a result). */
  attempts: number;
  lastSentAt: string | null;
  deliveredAt: string | null;
  completedAt: string | null;
  /** The device's own answer; null while none arrived (or when the fleet expired it). */
  result: CommandResult | null;
}

export type CommandEvent =
  | { kind: 'sent'; at: string }
  | { kind: 'acked'; at: string }
  | { kind: 'result'; result: CommandResult; at: string }
  | { kind: 'expire'; at: string };

export interface Transition {
  next: CommandRecord;
  changed: boolean;
  /** Why an event was ignored, for logs and counters. */
  ignored?: 'terminal' | 'duplicate-result' | 'not-yet-expired';
}

const same = (rec: CommandRecord, ignored: Transition['ignored']): Transition => ({
  next: rec,
  changed: false,
  ignored,
});

export function applyEvent(rec: CommandRecord, ev: CommandEvent): Transition {
  switch (ev.kind) {
    case 'sent':
      if (isTerminal(rec.status)) return same(rec, 'terminal');
      return { next: { ...rec, attempts: rec.attempts + 1, lastSentAt: ev.at }, changed: true };
    case 'acked':
      if (rec.status !== 'queued') return same(rec, rec.status === 'delivered' ? undefined : 'terminal');
      return { next: { ...rec, status: 'delivered', deliveredAt: ev.at }, changed: true };
    case 'result': {
      if (rec.result !== null) return same(rec, 'duplicate-result');
      // A result implies delivery even when the PUBACK was never seen (fleet restart in between).
      return {
        next: {
          ...rec,
          status: ev.result.status,
          result: ev.result,
          deliveredAt: rec.deliveredAt ?? ev.at,
          completedAt: ev.at,
        },
        changed: true,
      };
    }
    case 'expire':
      if (isTerminal(rec.status)) return same(rec, 'terminal');
      if (Date.parse(ev.at) < Date.parse(rec.expiresAt)) return same(rec, 'not-yet-expired');
      return { next: { ...rec, status: 'expired', completedAt: ev.at }, changed: true };
  }
}

export interface DeliveryPlan {
  /** Still worth sending, oldest first. */
  send: CommandRecord[];
  /** Past their expiry with no result: mark expired, do not send. */
  expire: CommandRecord[];
}

/** What to do with a device's open commands when it (re)subscribes, or on a sweep. */
export function planDelivery(records: readonly CommandRecord[], now: string): DeliveryPlan {
  const t = Date.parse(now);
  const send: CommandRecord[] = [];
  const expire: CommandRecord[] = [];
  for (const r of records) {
    if (isTerminal(r.status)) continue;
    if (Date.parse(r.expiresAt) <= t) expire.push(r);
    else send.push(r);
  }
  send.sort((a, b) => a.issuedAt.localeCompare(b.issuedAt) || a.id.localeCompare(b.id));
  return { send, expire };
}

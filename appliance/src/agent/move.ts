import { randomUUID } from 'node:crypto';
import { checkMove, DiemcauError, type FleetMoveEvent, type MoveRefusal } from '@diemcau/shared';
import type { Identity } from './identity.js';

// Following a move to another fleet (shared/src/fleet-move.ts). The retained
// statement on the box's 'move' channel is checked against the key the box
// got at enrolment; a statement it follows becomes its identity (brokers,
// CA, the new fleet's key, the fleet URL), saved before anything changes, so
// a power cut half way leaves the box on one fleet or the other, never on
// none. The credentials stay: the new fleet imported them with the registry.
// Every answer, followed or refused, goes to the fleet on 'events' through
// the on-disk queue.

export interface MoveLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface MoveFollowerDeps {
  identity(): Identity;
  /** Durably replaces the identity file. */
  save(next: Identity): Promise<void>;
  /** Points the MQTT session at the new fleet's brokers. */
  retarget(urls: readonly string[], ca: string | undefined): void;
  /** Queues an event for the fleet (durable, in order). */
  report(payload: string): Promise<void>;
  log: MoveLog;
  now?: () => number;
}

export class MoveFollower {
  private chain: Promise<void> = Promise.resolve();
  /** Refusals by reason, for the agent's stats and tests. */
  readonly refused = new Map<MoveRefusal, number>();
  followed = 0;

  constructor(private readonly d: MoveFollowerDeps) {}

  /** One statement at a time, in arrival order; never throws (bad input is counted and logged). */
  handle(payload: Buffer): Promise<void> {
    this.chain = this.chain.then(() =>
      this.handleOne(payload).catch((err: unknown) =>
        this.d.log.warn({ err: { message: (err as Error).message } }, 'move handling failed'),
      ),
    );
    return this.chain;
  }

  private async handleOne(payload: Buffer): Promise<void> {
    const now = this.d.now?.() ?? Date.now();
    const me = this.d.identity();
    const check = checkMove(payload, { deviceId: me.deviceId, trust: me.trust, last: me.lastMove }, now);
    if (!check.ok) {
      this.refused.set(check.reason, (this.refused.get(check.reason) ?? 0) + 1);
      const err = new DiemcauError('APPL_ERR_MOVE_REFUSED', `${check.reason}: ${check.detail}`);
      this.d.log.warn({ err: err.toJSON(), reason: check.reason, moveId: check.moveId }, 'move refused');
      await this.report({
        outcome: 'refused',
        reason: check.reason,
        detail: check.detail.slice(0, 500),
        ...(check.moveId ? { moveId: check.moveId } : {}),
      });
      return;
    }
    if (check.already) return;
    const s = check.statement;
    const { caCert: _oldCa, ...rest } = me;
    const next: Identity = {
      ...rest,
      fleetUrl: s.to.fleetUrl,
      mqtt: {
        url: s.to.mqttUrls[0]!,
        username: me.mqtt.username,
        password: me.mqtt.password,
        ...(s.to.mqttUrls.length > 1 ? { urls: s.to.mqttUrls } : {}),
      },
      trust: s.to.trust,
      lastMove: { moveId: s.moveId, issuedAt: s.issuedAt },
      ...(s.to.caCert ? { caCert: s.to.caCert } : {}),
    };
    await this.d.save(next);
    this.followed++;
    this.d.log.info(
      { moveId: s.moveId, from: s.fromFleetId, to: s.to.trust.fleetId, brokers: s.to.mqttUrls },
      'moving to another fleet',
    );
    // Queued before the switch: the old fleet hears it if the link allows, the new one otherwise.
    await this.report({ outcome: 'followed', moveId: s.moveId, toFleetId: s.to.trust.fleetId });
    this.d.retarget(s.to.mqttUrls, s.to.caCert);
  }

  private report(e: Omit<FleetMoveEvent, 'v' | 'kind' | 'id' | 'at'>): Promise<void> {
    const ev: FleetMoveEvent = { v: 1, kind: 'fleet-move', id: randomUUID(), at: new Date().toISOString(), ...e };
    return this.d.report(JSON.stringify(ev));
  }
}

import { DiemcauError, type EnrolRequest, type EnrolResponse } from '@diemcau/shared';
import type { FleetContext } from '../context.js';
import { brokerUrls } from './broker-list.js';
import { hashPassword, newId, newSecret } from '../db/secrets.js';
import { isArmed } from '../db/enrollment-repo.js';
import { planEnrolment, type EnrolFacts, type EnrolPlan, type RefusalReason } from './enrol-planner.js';
import { canonicalSerial } from './serial.js';

export interface EnrolOutcome extends EnrolResponse {
  reenrolled: boolean;
  by: 'token' | 'serial';
  serial: string | null;
}

/** A refused enrolment, with what the API layer needs to count, log and audit it. */
export class EnrolRefused extends DiemcauError {
  constructor(
    readonly reason: RefusalReason | 'bad-serial' | 'unknown-site',
    readonly credentialed: boolean,
    readonly serial: string | null,
    code: 'FLEET_ERR_TOKEN_INVALID' | 'FLEET_ERR_SERIAL_IN_USE' | 'FLEET_ERR_BAD_REQUEST' | 'FLEET_ERR_UNKNOWN_SITE',
    message: string,
  ) {
    super(code, message);
  }
}

/**
 * The brokers a box is told to use, the one it reached us by first: a fleet
 * with certificates serves MQTT over TLS only; a cluster lists every node's.
 */
export function mqttUrlsFor(fleet: Pick<FleetContext, 'config' | 'broker'>, host: string): string[] {
  const scheme = fleet.config.tlsCert !== undefined ? 'mqtts' : 'mqtt';
  const url = fleet.config.publicMqttUrl ?? `${scheme}://${host}:${fleet.broker.port}`;
  return [url, ...brokerUrls(fleet.config.publicMqttUrls).filter((u) => u !== url)];
}

/**
 * A box joins, by the rule in enrol-planner.ts. The decision is made twice: once
 * before the password hash (a refusal costs no scrypt), and again inside the
 * one transaction that spends the token or the pre-registration and writes
 * the device, so that racing enrolments see each other and a refusal spends
 * nothing.
 */
export async function enrolDevice(fleet: FleetContext, req: EnrolRequest, mqttHost: string): Promise<EnrolOutcome> {
  const { repos } = fleet;
  let serial: string | null = null;
  if (req.hardware.serial !== undefined) {
    const c = canonicalSerial(req.hardware.serial);
    if (!c.ok)
      throw new EnrolRefused(
        'bad-serial',
        false,
        null,
        'FLEET_ERR_BAD_REQUEST',
        `${c.problem}; set DIEMCAU_SERIAL on the box to override`,
      );
    serial = c.serial;
  }
  const facts = async (): Promise<EnrolFacts> => {
    const live = serial === null ? undefined : await repos.devices.liveBySerial(serial);
    const pre = serial === null ? undefined : await repos.enrollment.getSerial(serial);
    let token: EnrolFacts['token'];
    if (req.token !== undefined) {
      const usable = await repos.enrollment.peekToken(req.token);
      const spent = usable ? undefined : await repos.enrollment.spentToken(req.token);
      token = usable
        ? { siteId: usable.siteId, id: usable.id }
        : spent
          ? { siteId: spent.siteId, spent: true, id: spent.id }
          : null;
    }
    return {
      token,
      serial,
      prereg: pre ? { siteId: pre.siteId, armed: isArmed(pre) } : null,
      live: live
        ? {
            id: live.id,
            siteId: live.siteId,
            // Its registry row learns of a first login a moment after it (presence writes are
            // gathered): a session the cluster knows of counts at once.
            neverSeen: live.lastSeenAt === null && !fleet.presence.isOnline(live.id),
            enrolTokenId: await repos.devices.enrolTokenOf(live.id),
          }
        : null,
    };
  };
  const refusal = (p: EnrolPlan & { action: 'refuse' }) =>
    new EnrolRefused(p.reason, p.credentialed, serial, p.code, p.message);

  const first = planEnrolment(await facts());
  if (first.action === 'refuse') throw refusal(first);

  const password = newSecret(24);
  const passwordHash = await hashPassword(password, fleet.config.devicePasswordHash);

  // One transaction from the second decision to the commit, and one
  // enrolment at a time (fleet-wide under PostgreSQL): racing enrolments see
  // each other's writes, and a refusal spends nothing.
  const plan = await fleet.db.tx(
    async (): Promise<Exclude<EnrolPlan, { action: 'refuse' }> & { deviceId: string }> => {
      const p = planEnrolment(await facts());
      if (p.action === 'refuse') throw refusal(p);
      if (!fleet.sites.get(p.siteId))
        throw new EnrolRefused('unknown-site', true, serial, 'FLEET_ERR_UNKNOWN_SITE', p.siteId);
      const isRetry = p.action === 'reimage' && p.retry === true;
      let enrolTokenId: number | null = null;
      if (p.by === 'token') {
        const spent = isRetry
          ? await repos.enrollment.spentToken(req.token!)
          : await repos.enrollment.consumeToken(req.token!);
        if (!spent)
          throw new EnrolRefused(
            'token-invalid',
            false,
            serial,
            'FLEET_ERR_TOKEN_INVALID',
            'ask an operator for a new one',
          );
        enrolTokenId = spent.id;
      }
      const record = {
        enrolTokenId,
        id: p.action === 'reimage' ? p.deviceId : newId('dev', 8),
        siteId: p.siteId,
        serial,
        passwordHash,
        model: req.hardware.model,
        os: req.hardware.os,
        agentVersion: req.hardware.agentVersion,
      };
      if (p.action === 'reimage') {
        // The planner checked site and revocation; the statement checks them again.
        if (!(await repos.devices.reenrol(record)))
          throw new DiemcauError('FLEET_ERR_INTERNAL', `device ${record.id} changed during enrolment`);
      } else {
        await repos.devices.insert(record);
      }
      const spend = (p.action === 'reimage' && !isRetry) || (p.action === 'create' && p.spendPrereg);
      if (spend && serial !== null && !(await repos.enrollment.spendSerial(serial, record.id))) {
        throw new DiemcauError('FLEET_ERR_INTERNAL', `pre-registration of ${serial} changed during enrolment`);
      }
      return { ...p, deviceId: record.id };
    },
    { lock: 'enrolment' },
  );

  const reenrolled = plan.action === 'reimage';
  const { deviceId, siteId, by } = plan;
  if (reenrolled) fleet.broker.disconnectDevice(deviceId); // the old credentials are void
  fleet.presence.remember(deviceId, siteId);
  fleet.events.emit('device-enrolled', { deviceId, siteId, reenrolled });
  fleet.log.info({ deviceId, siteId, serial, reenrolled, by }, 'device enrolled');

  const [url, ...others] = mqttUrlsFor(fleet, mqttHost);
  const mqtt = { url: url!, username: deviceId, password, ...(others.length > 0 ? { urls: [url!, ...others] } : {}) };
  const site = fleet.sites.get(siteId)!;
  const { fleetId, publicKey } = await repos.fleetKey.get();
  const trust = { fleetId, publicKey };
  return { deviceId, siteId, siteName: site.name, mqtt, trust, reenrolled, by, serial };
}

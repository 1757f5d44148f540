import { DiemcauError, type EnrollRequest, type EnrollResponse } from '@diemcau/shared';
import type { FleetContext } from '../context.js';
import { hashPassword, newId, newSecret } from '../db/secrets.js';

/**
 * A box joins: with a token minted for its site, or by a hardware serial an
 * operator registered in advance. A box whose serial is already known (a
 * re-imaged box) keeps its device id and gets new credentials; its old ones
 * stop working at once.
 */
export async function enrolDevice(
  fleet: FleetContext,
  req: EnrollRequest,
  mqttHost: string,
): Promise<EnrollResponse & { reenrolled: boolean }> {
  const { repos } = fleet;
  const serial = req.hardware.serial ?? null;
  let siteId: string;
  if (req.token !== undefined) {
    const token = repos.enrollment.consumeToken(req.token);
    if (!token) throw new DiemcauError('FLEET_ERR_TOKEN_INVALID');
    siteId = token.siteId;
  } else if (serial !== null) {
    const pre = repos.enrollment.getSerial(serial);
    if (!pre) throw new DiemcauError('FLEET_ERR_TOKEN_INVALID', 'serial is not pre-registered');
    siteId = pre.siteId;
  } else {
    throw new DiemcauError('FLEET_ERR_TOKEN_INVALID', 'a token or a pre-registered serial is needed');
  }
  const site = fleet.sites.get(siteId);
  if (!site) throw new DiemcauError('FLEET_ERR_UNKNOWN_SITE', siteId);

  const password = newSecret(24);
  const passwordHash = await hashPassword(password);
  const existing = serial !== null ? repos.devices.getBySerial(serial) : undefined;
  const deviceId = existing?.id ?? newId('dev', 8);
  const record = {
    id: deviceId,
    siteId,
    serial,
    passwordHash,
    model: req.hardware.model,
    os: req.hardware.os,
    agentVersion: req.hardware.agentVersion,
  };
  fleet.db.tx(() => {
    if (existing) repos.devices.reenrol(record);
    else repos.devices.insert(record);
    if (serial !== null && repos.enrollment.getSerial(serial)) repos.enrollment.bindSerial(serial, deviceId);
  });
  if (existing) fleet.broker.disconnectDevice(deviceId); // the old credentials are void
  fleet.presence.remember(deviceId, siteId);
  fleet.events.emit('device-enrolled', { deviceId, siteId, reenrolled: existing !== undefined });
  fleet.log.info({ deviceId, siteId, serial, reenrolled: existing !== undefined, by: req.token ? 'token' : 'serial' }, 'device enrolled');

  // A fleet with certificates serves MQTT over TLS only.
  const scheme = fleet.config.tlsCert !== undefined ? 'mqtts' : 'mqtt';
  const url = fleet.config.publicMqttUrl ?? `${scheme}://${mqttHost}:${fleet.broker.port}`;
  return {
    deviceId,
    siteId,
    siteName: site.name,
    mqtt: { url, username: deviceId, password },
    reenrolled: existing !== undefined,
  };
}

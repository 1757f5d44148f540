// Enrolment tests' helpers: one MQTT login attempt against the real broker,
// operators of each role, and a metric read from /metrics.
import mqtt, { type MqttClient } from 'mqtt';
import { deviceTopic, type EnrolResponse } from '@diemcau/shared';
import { telemetry, type TestFleet } from './fleet.js';

/**
 * One connection attempt: 'connected', the CONNACK refusal, or 'closed' when
 * the socket is cut before any CONNACK. The broker wants the device id as
 * client id, so a successful attempt takes over the device's session: check
 * a session before probing its credentials.
 */
export function loginAttempt(creds: EnrolResponse): Promise<string> {
  return mqttAttempt(creds.mqtt.url, {
    clientId: creds.deviceId,
    username: creds.mqtt.username,
    password: creds.mqtt.password,
  });
}

/** One connection attempt with any options: 'connected', the CONNACK refusal, or 'closed' when cut before any CONNACK. */
export function mqttAttempt(url: string, opts: mqtt.IClientOptions): Promise<string> {
  return new Promise((resolve) => {
    const c = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
    const done = (what: string) => {
      c.end(true);
      resolve(what);
    };
    c.once('connect', () => done('connected'));
    c.once('error', (err) => done(`refused ${(err as { code?: number }).code ?? err.message}`));
    c.once('close', () => done('closed'));
  });
}

export async function operator(
  api: TestFleet['api'],
  role: 'district-operator' | 'viewer' | 'admin',
  districtId?: string,
): Promise<string> {
  const r = await api<{ token: string }>('POST', '/api/v1/operators', {
    body: { name: `${role}-${districtId ?? 'all'}`, role, ...(districtId ? { districtId } : {}) },
  });
  if (r.status !== 201) throw new Error(`operator: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.token;
}

export async function mintToken(api: TestFleet['api'], siteId: string, token?: string, uses = 1): Promise<string> {
  const r = await api<{ token: string }>('POST', `/api/v1/sites/${siteId}/enrollment-tokens`, {
    body: { uses },
    ...(token ? { token } : {}),
  });
  if (r.status !== 201) throw new Error(`token: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.token;
}

export type EnrolAnswer = { status: number; body: EnrolResponse & { code?: string; message?: string } };

/** POST /enroll as a box does: no operator token. */
export function enrolRaw(
  api: TestFleet['api'],
  body: { token?: string; hardware: Record<string, string> },
): Promise<EnrolAnswer> {
  return api<EnrolResponse & { code?: string; message?: string }>('POST', '/api/v1/enroll', { body, token: null });
}

export async function metricValue(api: TestFleet['api'], line: RegExp): Promise<number> {
  const res = await api<string>('GET', '/metrics');
  if (typeof res.body !== 'string') throw new Error(`metrics: ${res.status} ${JSON.stringify(res.body)}`);
  const m = res.body.split('\n').find((l) => line.test(l));
  return m ? Number(m.split(' ').pop()) : 0;
}

/** Resolves when `client` closes; rejects after `ms` so a test never hangs on it. */
export function closed(client: { once(ev: 'close', fn: () => void): unknown }, ms = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the connection was not closed')), ms);
    client.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * True when the session still carries a QoS 1 round trip. A broker that cut
 * the session while enrolling another box did so before it could answer
 * this publish, so the close is seen first and the answer is false.
 */
export async function sessionAlive(client: MqttClient, deviceId: string, seq: number): Promise<boolean> {
  if (!client.connected) return false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      client.publishAsync(deviceTopic(deviceId, 'telemetry'), JSON.stringify(telemetry(seq)), { qos: 1 }),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('no PUBACK')), 5000))),
    ]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
  return client.connected;
}

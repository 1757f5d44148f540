// Test helpers for the fleet: a real fleet (embedded broker on port 0, SQLite
// in a temp dir) with awaited teardown, and real MQTT devices. Other areas'
// tests may use these too.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { deviceTopic, type EnrolResponse, type Presence, type SelfTestResult, type Telemetry } from '@diemcau/shared';
import { buildFleet, type Fleet } from '../../src/app.js';
import type { FleetConfig } from '../../src/config.js';
import { registrySettings } from './registry.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface TestFleet {
  fleet: Fleet;
  dataDir: string;
  /** inject() with the admin token unless another is given; the JSON body parsed. */
  api<T = unknown>(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    url: string,
    opts?: { body?: unknown; token?: string | null },
  ): Promise<{ status: number; body: T }>;
  /** Mints a token for the site and enrols a box with it over HTTP. */
  enrol(siteId: string, hardware?: Record<string, string>): Promise<EnrolResponse>;
}

export async function startTestFleet(
  t: Teardown,
  config: Partial<Record<keyof FleetConfig, unknown>> = {},
  dataDir = mkdtempSync(join(tmpdir(), 'diemcau-fleet-')),
): Promise<TestFleet> {
  const fleet = await buildFleet({
    config: {
      httpPort: 0,
      mqttPort: 0,
      host: '127.0.0.1',
      dataDir,
      adminToken: ADMIN_TOKEN,
      logLevel: 'silent',
      ...(await registrySettings(dataDir)),
      ...config,
    },
  });
  t.teardown(async () => {
    await fleet.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const api: TestFleet['api'] = async (method, url, opts = {}) => {
    const token = opts.token === undefined ? ADMIN_TOKEN : opts.token;
    const res = await fleet.http.inject({
      method,
      url,
      headers: token === null ? {} : { authorization: `Bearer ${token}` },
      ...(opts.body === undefined ? {} : { payload: opts.body as object }),
    });
    const ct = String(res.headers['content-type'] ?? '');
    return { status: res.statusCode, body: (ct.includes('json') ? res.json() : res.body) as never };
  };
  const enrol: TestFleet['enrol'] = async (siteId, hardware = {}) => {
    const tok = await api<{ token: string }>('POST', `/api/v1/sites/${siteId}/enrollment-tokens`, { body: {} });
    if (tok.status !== 201) throw new Error(`token: ${tok.status} ${JSON.stringify(tok.body)}`);
    const res = await api<EnrolResponse>('POST', '/api/v1/enroll', {
      body: { token: tok.body.token, hardware: { agentVersion: '0.1.0', ...hardware } },
      token: null,
    });
    if (res.status !== 200) throw new Error(`enrol: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  };
  return { fleet, dataDir, api, enrol };
}

export const presence = (state: 'online' | 'offline', extra: Partial<Presence> = {}): string =>
  JSON.stringify({ v: 1, state, at: new Date().toISOString(), ...extra });

export const telemetry = (seq: number): Telemetry => ({
  v: 1,
  seq,
  at: new Date().toISOString(),
  cpu: { loadPercent: 12 },
  memory: { usedBytes: 1e9, totalBytes: 8e9 },
  disk: { usedBytes: 1e10, totalBytes: 1e11 },
  network: { rxBytesPerSec: 1000, txBytesPerSec: 2000 },
  uptimeSec: 100 + seq,
});

/** A passing self-test of a simulated box, as the agent reports it on 'health'. */
export const selfTest = (): SelfTestResult => ({
  v: 1,
  kind: 'self-test',
  startedAt: new Date(Date.now() - 2000).toISOString(),
  finishedAt: new Date().toISOString(),
  hardware: 'simulated',
  ok: true,
  peripherals: { camera: 'ok', microphone: 'ok', display: 'ok', gpio: 'ok' },
  camera: { state: 'ok', devices: [{ node: '/dev/video0', name: 'sim' }] },
  microphone: { state: 'ok', devices: [{ id: 'hw:1,0', name: 'sim' }] },
  display: {
    state: 'ok',
    connectors: [{ name: 'HDMI-A-1', status: 'connected', enabled: true, mode: '1920x1080' }],
    power: 'on',
  },
  gpio: { state: 'ok', led: 'online', helpButton: true, tvRelay: false },
});

/** Connects like the agent does: own credentials, retained will "offline", then a retained birth. */
export async function connectDevice(
  t: Teardown,
  creds: EnrolResponse,
  opts: { birth?: boolean; keepalive?: number } = {},
): Promise<MqttClient> {
  const client = mqtt.connect(creds.mqtt.url, {
    clientId: creds.deviceId,
    username: creds.mqtt.username,
    password: creds.mqtt.password,
    keepalive: opts.keepalive ?? 10,
    reconnectPeriod: 0,
    will: {
      topic: deviceTopic(creds.deviceId, 'presence'),
      payload: Buffer.from(presence('offline')),
      qos: 1,
      retain: true,
    },
  });
  t.teardown(() => client.end(true));
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  if (opts.birth !== false) {
    await client.publishAsync(
      deviceTopic(creds.deviceId, 'presence'),
      presence('online', {
        agentVersion: '0.1.0',
        os: 'Debian 12',
        hardware: 'simulated',
        peripherals: { camera: 'ok', microphone: 'ok', display: 'ok', gpio: 'unknown' },
      }),
      { qos: 1, retain: true },
    );
  }
  return client;
}

/** Polls until `check` returns a value (not undefined/false) or the time is up. */
export async function waitFor<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

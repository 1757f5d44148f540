// OTA test harness: a real fleet (embedded broker, SQLite in a temp dir)
// with a trusted release key, a signed release uploaded through the API, and
// simulated agents: real MQTT clients that take their desired release,
// download the artifact over HTTP, check its hash and report on 'ota' like
// the agent's updater does (committing, or rolling back when told to fail).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import {
  deviceTopic,
  desiredWithReleaseCodec,
  signManifest,
  type EnrolResponse,
  type OtaStatus,
  type ReleaseManifest,
} from '@diemcau/shared';
import { buildFleet, type Fleet } from '../../src/app.js';
import type { OtaHandles, OtaPluginOptions } from '../../src/ota/plugin.js';
import { ADMIN_TOKEN, connectDevice, presence } from '../helpers/fleet.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface OtaFleet {
  fleet: Fleet;
  ota: OtaHandles;
  keys: { keyId: string; privateKeyPem: string };
  api<T = unknown>(
    method: 'GET' | 'POST' | 'PUT',
    url: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: T; raw: Buffer; headers: Record<string, unknown> }>;
  enrol(siteId: string): Promise<EnrolResponse>;
}

export async function startOtaFleet(t: Teardown, ota: OtaPluginOptions = {}): Promise<OtaFleet> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-ota-fleet-'));
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const keys = { keyId: 'release-2026', privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
  const keysFile = path.join(dataDir, 'trusted.json');
  fs.writeFileSync(
    keysFile,
    JSON.stringify([{ keyId: keys.keyId, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() }]),
  );
  let handles: OtaHandles | undefined;
  const fleet = await buildFleet({
    config: { httpPort: 0, mqttPort: 0, host: '127.0.0.1', dataDir, adminToken: ADMIN_TOKEN, logLevel: 'silent' },
    ota: { ...ota, config: { trustedKeysFile: keysFile, tickMs: 0, ...ota.config }, expose: (h) => (handles = h) },
  });
  t.teardown(async () => {
    await fleet.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  const api: OtaFleet['api'] = async (method, url, body, headers = {}) => {
    const res = await fleet.http.inject({
      method,
      url,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...headers },
      ...(body === undefined ? {} : { payload: body as Buffer }),
    });
    const ct = String(res.headers['content-type'] ?? '');
    return {
      status: res.statusCode,
      body: (ct.includes('json') ? res.json() : res.body) as never,
      raw: res.rawPayload,
      headers: res.headers,
    };
  };
  const enrol: OtaFleet['enrol'] = async (siteId) => {
    const tok = await api<{ token: string }>('POST', `/api/v1/sites/${siteId}/enrollment-tokens`, {});
    const res = await api<EnrolResponse>('POST', '/api/v1/enroll', {
      token: tok.body.token,
      hardware: { agentVersion: '0.1.0' },
    });
    if (res.status !== 200) throw new Error(`enrol ${siteId}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  };
  return { fleet, ota: handles!, keys, api, enrol };
}

/** A signed manifest for these bytes (extra fields go inside the signed payload). */
export function makeManifest(version: string, bytes: Buffer, extra: Partial<ReleaseManifest> = {}): ReleaseManifest {
  return {
    v: 1,
    version,
    artifact: `diemcau-agent-${version}.tar.gz`,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    size: bytes.length,
    unpackedSize: bytes.length * 3,
    minAgentVersion: '0.1.0',
    created: new Date().toISOString(),
    entry: 'agent.mjs',
    native: [],
    ...extra,
  };
}

/** Builds, signs, registers and uploads a release through the API. */
export async function publishRelease(
  f: OtaFleet,
  version: string,
  bytes = randomBytes(64 * 1024),
  extra: Partial<ReleaseManifest> = {},
): Promise<ReleaseManifest> {
  const manifest = makeManifest(version, bytes, extra);
  const reg = await f.api('POST', '/api/v1/releases', signManifest(manifest, f.keys.keyId, f.keys.privateKeyPem));
  if (reg.status !== 201) throw new Error(`register: ${reg.status} ${JSON.stringify(reg.body)}`);
  const up = await f.api('PUT', `/api/v1/releases/${version}/artifact`, bytes, {
    'content-type': 'application/octet-stream',
  });
  if (up.status !== 200) throw new Error(`upload: ${up.status} ${JSON.stringify(up.body)}`);
  return manifest;
}

export interface SimAgent {
  deviceId: string;
  siteId: string;
  client: MqttClient;
  /** Versions it was told to install, in order, with the time. */
  desired: { version: string; at: number; urls: string[] }[];
  /** Times the fleet withdrew its desired release (release: null). */
  withdrawn: number;
  version: string;
}

/**
 * An agent that updates (fails = reports a rollback) for every desired
 * release it hears, whatever its version: it stands for a box that trusts
 * the fleet, so the fleet's own rules are what a test sees. Starting at
 * another version than 0.1.0 announces it in a birth, as a restarted agent does.
 */
export async function simAgent(
  t: Teardown,
  f: OtaFleet,
  creds: EnrolResponse,
  behaviour: (version: string) => 'ok' | 'fail' | 'refuse-downgrade',
  startVersion = '0.1.0',
): Promise<SimAgent> {
  const client = await connectDevice(t, creds);
  const agent: SimAgent = {
    deviceId: creds.deviceId,
    siteId: creds.siteId,
    client,
    desired: [],
    withdrawn: 0,
    version: startVersion,
  };
  if (startVersion !== '0.1.0') {
    const birth = presence('online', {
      agentVersion: startVersion,
      os: 'Debian 12',
      hardware: 'simulated',
      peripherals: { camera: 'ok', microphone: 'ok', display: 'ok', gpio: 'unknown' },
    });
    await client.publishAsync(deviceTopic(agent.deviceId, 'presence'), birth, { qos: 1, retain: true });
  }
  const report = (s: Omit<OtaStatus, 'v' | 'at' | 'current'>): Promise<unknown> =>
    client.publishAsync(
      deviceTopic(agent.deviceId, 'ota'),
      JSON.stringify({ v: 1, at: new Date().toISOString(), current: agent.version, ...s }),
      { qos: 1 },
    );
  client.on('message', (_topic, payload) => {
    const d = desiredWithReleaseCodec.decode(payload);
    if (d.ok && d.value.release === null) agent.withdrawn++;
    if (!d.ok || !d.value.release || d.value.release.version === agent.version) return;
    const rel = d.value.release;
    agent.desired.push({ version: rel.version, at: Date.now(), urls: rel.urls });
    void (async () => {
      const manifest = JSON.parse(rel.manifest.payload) as ReleaseManifest;
      await report({
        state: 'downloading',
        target: rel.version,
        rolloutId: rel.rolloutId!,
        progress: { bytes: 0, total: manifest.size },
      });
      // Like the updater: a path is resolved against the fleet URL the box enrolled with.
      const body = Buffer.from(
        await (await fetch(new URL(rel.urls.at(-1)!, `http://127.0.0.1:${f.fleet.httpPort}`))).arrayBuffer(),
      );
      const sha = createHash('sha256').update(body).digest('hex');
      if (sha !== manifest.sha256) {
        await report({
          state: 'failed',
          target: rel.version,
          rolloutId: rel.rolloutId!,
          error: { code: 'APPL_ERR_OTA_HASH', message: 'mismatch' },
        });
      } else if (behaviour(rel.version) === 'refuse-downgrade') {
        // What the box's updater reports when the release is older than what it runs.
        const message = `release ${rel.version} is older than ${agent.version} and is not a signed rollback`;
        await report({
          state: 'failed',
          target: rel.version,
          rolloutId: rel.rolloutId!,
          error: { code: 'APPL_ERR_OTA_DOWNGRADE', message },
        });
      } else if (behaviour(rel.version) === 'fail') {
        await report({
          state: 'rolled-back',
          target: rel.version,
          rolloutId: rel.rolloutId!,
          error: { code: 'APPL_ERR_OTA_HEALTH', message: 'self-test failed: camera' },
        });
      } else {
        agent.version = rel.version;
        await report({ state: 'committed', target: rel.version, rolloutId: rel.rolloutId! });
        // The new version's first birth, as the restarted agent announces it.
        const birth = presence('online', {
          agentVersion: rel.version,
          os: 'Debian 12',
          hardware: 'simulated',
          peripherals: { camera: 'ok', microphone: 'ok', display: 'ok', gpio: 'unknown' },
        });
        await client.publishAsync(deviceTopic(agent.deviceId, 'presence'), birth, { qos: 1, retain: true });
      }
    })().catch(() => undefined); // the client closed at teardown mid-report
  });
  await client.subscribeAsync(deviceTopic(agent.deviceId, 'desired'), { qos: 1 });
  return agent;
}

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import {
  commandCodec,
  deviceEventCodec,
  deviceTopic,
  healthCodec,
  presenceCodec,
  telemetryCodec,
  type CommandResult,
  type EnrolResponse,
  type Peripherals,
  type SelfTestResult,
  type Site,
  type Telemetry,
} from '@diemcau/shared';
import { buildFleet, type Fleet } from '../../../src/index.js';

// A real fleet (buildFleet on ephemeral ports, SQLite in a temp dir) with
// simulated sites: each is a real MQTT client that enrols over HTTP with a
// token minted for its site, connects with the retained "offline" will,
// publishes its retained birth and a few telemetry samples, and answers
// commands with a result, as the agent does.

export const ADMIN_TOKEN = 'ui-test-admin-token-0123456789';
const OK: Peripherals = { camera: 'ok', microphone: 'ok', display: 'ok', gpio: 'ok' };

export interface SimDevice {
  deviceId: string;
  siteId: string;
  client: MqttClient;
  /** Commands received, in order. */
  commands: string[];
}

export interface SimFleet {
  fleet: Fleet;
  url: string;
  sites: Site[];
  devices: Map<string, SimDevice>;
  api<T>(method: string, p: string, body?: unknown, token?: string): Promise<T>;
  /** Enrols and brings one simulated box online at each given site. */
  online(siteIds: readonly string[], peripherals?: (siteId: string) => Peripherals): Promise<void>;
  /** One more telemetry sample from the box at this site. */
  sample(siteId: string, seq: number, cpu: number): Promise<void>;
  /** A peripheral report, as the agent sends when something is unplugged. */
  report(siteId: string, peripherals: Peripherals): Promise<void>;
  /** The box's "call the province" button. */
  pressHelp(siteId: string): Promise<void>;
  /** A crash: the socket drops without DISCONNECT, so the broker publishes the will. */
  kill(siteId: string): void;
  close(): Promise<void>;
}

export async function startSimFleet(config: Record<string, unknown> = {}): Promise<SimFleet> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-ui-'));
  const fleet = await buildFleet({
    config: {
      httpPort: 0,
      mqttPort: 0,
      host: '127.0.0.1',
      dataDir,
      adminToken: ADMIN_TOKEN,
      logLevel: 'warn',
      offlineDebounceMs: 0,
      startupGraceMs: 0,
      ...config,
    },
  });
  const url = `http://127.0.0.1:${fleet.httpPort}`;
  const devices = new Map<string, SimDevice>();

  async function api<T>(method: string, p: string, body?: unknown, token = ADMIN_TOKEN): Promise<T> {
    const res = await fetch(url + p, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`);
    return (res.status === 204 ? undefined : await res.json()) as T;
  }

  const sites = (await api<{ items: Site[] }>('GET', '/api/v1/sites')).items;

  async function bringOnline(siteId: string, peripherals: Peripherals): Promise<void> {
    const { token } = await api<{ token: string }>('POST', `/api/v1/sites/${siteId}/enrollment-tokens`, {});
    const res = await fetch(`${url}/api/v1/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        token,
        hardware: { serial: `sim-${siteId}`, agentVersion: '0.1.0-sim', os: 'Debian GNU/Linux 12' },
      }),
    });
    if (!res.ok) throw new Error(`enrol ${siteId}: ${res.status} ${await res.text()}`);
    const e = (await res.json()) as EnrolResponse;
    const presence = (state: 'online' | 'offline') =>
      presenceCodec.encode({
        v: 1,
        state,
        at: new Date().toISOString(),
        agentVersion: '0.1.0-sim',
        os: 'Debian GNU/Linux 12',
        hardware: 'simulated',
        peripherals,
      });
    const dev: SimDevice = { deviceId: e.deviceId, siteId, client: undefined as unknown as MqttClient, commands: [] };
    devices.set(siteId, dev);
    // Connects (again after a reboot), answers commands as the agent does, and says it is online.
    let boots = 0;
    const connect = async (bootedAt: number | null): Promise<void> => {
      const client = mqtt.connect(`mqtt://127.0.0.1:${fleet.mqttPort}`, {
        clientId: e.deviceId,
        username: e.mqtt.username,
        password: e.mqtt.password,
        keepalive: 10,
        reconnectPeriod: 0,
        will: {
          topic: deviceTopic(e.deviceId, 'presence'),
          payload: Buffer.from(presence('offline')),
          qos: 1,
          retain: true,
        },
      });
      await new Promise<void>((resolve, reject) => {
        client.once('connect', () => resolve());
        client.once('error', reject);
      });
      dev.client = client;
      await client.subscribeAsync(deviceTopic(e.deviceId, 'commands'), { qos: 1 });
      client.on('message', (_topic, payload) => {
        const cmd = commandCodec.decode(payload.toString());
        if (!cmd.ok) return;
        dev.commands.push(cmd.value.type);
        // A self-test also reports its findings on 'health', as the agent does.
        if (cmd.value.type === 'self-test')
          void client.publishAsync(
            deviceTopic(e.deviceId, 'health'),
            healthCodec.encode(selfTest(cmd.value.id, peripherals)),
            { qos: 1 },
          );
        const result: CommandResult = {
          v: 1,
          commandId: cmd.value.id,
          status: 'succeeded',
          at: new Date().toISOString(),
          output: { simulated: true },
        };
        void client
          .publishAsync(deviceTopic(e.deviceId, 'command-results'), JSON.stringify(result), { qos: 1 })
          .then(() => {
            // A reboot as a box does it: the accepted request, then the power goes
            // (the socket drops, the broker publishes the will), then a fresh boot.
            if (cmd.value.type === 'reboot') setTimeout(() => reboot(client), 300);
          });
      });
      await client.publishAsync(deviceTopic(e.deviceId, 'presence'), presence('online'), { qos: 1, retain: true });
      if (bootedAt === null) return;
      // After a boot the agent's first sample carries the new, short uptime.
      const uptimeSec = Math.round((Date.now() - bootedAt) / 1000);
      await client.publishAsync(
        deviceTopic(e.deviceId, 'telemetry'),
        telemetryCodec.encode({ ...sampleAt(1000 + ++boots, new Date(), 10), uptimeSec }),
        { qos: 1 },
      );
    };
    const reboot = (client: MqttClient): void => {
      if (devices.get(siteId) !== dev || dev.client !== client) return; // killed or closed meanwhile
      client.stream.destroy();
      client.end(true);
      const bootedAt = Date.now();
      // A real box is away for a minute or two; three seconds keep the test short but visible.
      setTimeout(() => {
        if (devices.get(siteId) === dev) void connect(bootedAt).catch(() => {});
      }, 3000);
    };
    await connect(null);
    const client = dev.client;
    const now = Date.now();
    for (let seq = 0; seq < 12; seq++) {
      const sample = sampleAt(seq, new Date(now - (11 - seq) * 10_000), 12 + 8 * Math.sin(seq / 2) + (seq % 3) * 3);
      await client.publishAsync(deviceTopic(e.deviceId, 'telemetry'), telemetryCodec.encode(sample), { qos: 1 });
    }
  }

  const must = (siteId: string): SimDevice => {
    const dev = devices.get(siteId);
    if (!dev) throw new Error(`no simulated box at ${siteId}`);
    return dev;
  };

  return {
    fleet,
    url,
    sites,
    devices,
    api,
    async online(siteIds, peripherals) {
      // A few at a time: enough to be quick, few enough not to trip rate limits.
      const queue = [...siteIds];
      const worker = async () => {
        for (let id = queue.shift(); id; id = queue.shift()) await bringOnline(id, peripherals?.(id) ?? OK);
      };
      await Promise.all(Array.from({ length: 8 }, worker));
    },
    async sample(siteId, seq, cpu) {
      const dev = must(siteId);
      await dev.client.publishAsync(
        deviceTopic(dev.deviceId, 'telemetry'),
        telemetryCodec.encode(sampleAt(seq, new Date(), cpu)),
        { qos: 1 },
      );
    },
    async report(siteId, peripherals) {
      const dev = must(siteId);
      const msg = healthCodec.encode({
        v: 1,
        kind: 'peripherals',
        at: new Date().toISOString(),
        hardware: 'simulated',
        peripherals,
        reasons: {},
      });
      await dev.client.publishAsync(deviceTopic(dev.deviceId, 'health'), msg, { qos: 1 });
    },
    async pressHelp(siteId) {
      const dev = devices.get(siteId);
      if (!dev) throw new Error(`no simulated box at ${siteId}`);
      const ev = deviceEventCodec.encode({
        v: 1,
        kind: 'help-requested',
        id: `help-${Date.now()}`,
        at: new Date().toISOString(),
        source: 'simulated',
      });
      await dev.client.publishAsync(deviceTopic(dev.deviceId, 'events'), ev, { qos: 1 });
    },
    kill(siteId) {
      const dev = devices.get(siteId);
      if (!dev) throw new Error(`no simulated box at ${siteId}`);
      dev.client.stream.destroy();
      dev.client.end(true);
      devices.delete(siteId);
    },
    async close() {
      for (const d of devices.values()) d.client.end(true);
      devices.clear();
      await fleet.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function sampleAt(seq: number, at: Date, cpu: number): Telemetry {
  return {
    v: 1,
    seq,
    at: at.toISOString(),
    cpu: { loadPercent: Math.min(100, cpu), temperatureC: 46 + (seq % 4) },
    memory: { usedBytes: 1.4 * 2 ** 30, totalBytes: 8 * 2 ** 30 },
    disk: { usedBytes: 21 * 2 ** 30, totalBytes: 118 * 2 ** 30 },
    network: { rxBytesPerSec: 40_000 + 9_000 * (seq % 5), txBytesPerSec: 22_000 + 6_000 * (seq % 4) },
    uptimeSec: 86_400 + seq * 10,
  };
}

function selfTest(commandId: string, p: Peripherals): SelfTestResult {
  const now = new Date();
  return {
    v: 1,
    kind: 'self-test',
    commandId,
    startedAt: new Date(now.getTime() - 1500).toISOString(),
    finishedAt: now.toISOString(),
    hardware: 'simulated',
    ok: p.camera === 'ok' && p.microphone === 'ok' && p.display === 'ok',
    peripherals: p,
    camera: {
      state: p.camera,
      devices: [{ node: '/dev/video0', name: 'Simulated camera' }],
      measured: { frames: 25, meanLuma: 112, maxFrameDiff: 9, black: false, frozen: false },
    },
    microphone: {
      state: p.microphone,
      devices: [{ id: 'hw:0', name: 'Simulated microphone' }],
      measured: { seconds: 1, peakDbfs: -9, rmsDbfs: -28, clippedRatio: 0, silent: false, clipping: false },
    },
    display: {
      state: p.display,
      connectors: [{ name: 'HDMI-A-1', status: 'connected', enabled: true, mode: '1920x1080' }],
      power: 'on',
    },
    gpio: { state: p.gpio, led: 'online', helpButton: true, tvRelay: false },
  };
}

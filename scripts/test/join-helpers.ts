// What the join-link browser tests share: a HOME whose NSS database trusts the
// province's CA (what installing the CA profile does on a phone), Chromium
// opened as a phone or a tablet with fake camera and microphone and no flag
// that loosens certificate checks, and a site's box as on the field: its media
// edge (real mediasoup workers, HTTPS with a certificate from the CA) and its
// agent link (the real appliance/src/media/agent-link.ts over the box's own
// MQTT session), announced to the fleet in its presence.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { deviceTopic, type DeviceSubscribeChannel, type EnrolResponse } from '@diemcau/shared';
import { linkEdge } from '../../appliance/src/media/agent-link.js';
import type { makeCerts } from '../../appliance/test/helpers/certs.js';
import { spawnEdge, tempDir, type EdgeProc } from '../../appliance/test/media/helpers.js';
import { connectDevice, presence, type TestFleet } from '../../fleet/test/helpers/fleet.js';
import { CHROMIUM } from '../../fleet/test/ui/helpers/browser.js';

type Teardown = { teardown(fn: () => unknown): void };

/** A HOME whose NSS database trusts the CA for websites: what installing the CA profile does. */
export function homeTrusting(caFile: string): string {
  const home = tempDir('diemcau-home-');
  const db = `sql:${path.join(home, '.pki', 'nssdb')}`;
  fs.mkdirSync(path.join(home, '.pki', 'nssdb'), { recursive: true });
  execFileSync('certutil', ['-d', db, '-N', '--empty-password']);
  execFileSync('certutil', ['-d', db, '-A', '-t', 'C,,', '-n', 'Diemcau province CA', '-i', caFile]);
  return home;
}

export interface Device {
  name: string;
  viewport: { width: number; height: number };
  userAgent: string;
}
export const PHONE: Device = {
  name: 'phone',
  viewport: { width: 390, height: 844 },
  userAgent:
    'Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36',
};
export const TABLET: Device = {
  name: 'tablet',
  viewport: { width: 820, height: 1180 },
  userAgent:
    'Mozilla/5.0 (Linux; Android 14; SM-X210) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
};

export async function openDevice(
  tt: Teardown,
  d: Device,
  home: string,
): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const profile = tempDir('diemcau-chromium-');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    // The CA is trusted through $HOME/.pki/nssdb, as on a desktop or a managed phone.
    env: { ...process.env, HOME: home },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
    ],
    viewport: d.viewport,
    isMobile: true,
    hasTouch: true,
    deviceScaleFactor: 2,
    userAgent: d.userAgent,
    locale: 'vi-VN',
  });
  tt.teardown(async () => {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  return { context, page, errors };
}

/**
 * A site's box enrolled on the fleet: its edge serving HTTPS with the CA's
 * certificate and no fixed join token (browsers come with the fleet's links),
 * its agent link taking plans in and stats out, its address announced.
 */
export async function siteBox(
  t: Teardown,
  f: TestFleet,
  pki: ReturnType<typeof makeCerts>,
  siteId: string,
  hardware: 'simulated' | 'none',
): Promise<{ creds: EnrolResponse; edge: EdgeProc }> {
  const creds = await f.enrol(siteId);
  const edge = await spawnEdge({
    edgeId: creds.deviceId,
    role: 'site',
    hardware,
    ca: pki.caPem,
    env: {
      DIEMCAU_EDGE_TLS_CERT: pki.certFile,
      DIEMCAU_EDGE_TLS_KEY: pki.keyFile,
      DIEMCAU_CA_FILE: pki.caFile,
      DIEMCAU_EDGE_JOIN_TOKEN: '',
      DIEMCAU_DATA_DIR: tempDir('diemcau-box-'),
    },
  });
  t.teardown(() => edge.kill());
  const mqtt = await connectDevice(t, creds);
  const link = linkEdge({
    agent: {
      router: {
        on(channel: DeviceSubscribeChannel, handler: (payload: Buffer) => void | Promise<void>) {
          const topic = deviceTopic(creds.deviceId, channel);
          const onMessage = (got: string, payload: Buffer) => void (got === topic && handler(payload));
          mqtt.on('message', onMessage);
          mqtt.subscribe(topic, { qos: 1 });
          return () => mqtt.off('message', onMessage);
        },
      },
      session: {
        publish: async (channel, payload, opts) =>
          void (await mqtt.publishAsync(deviceTopic(creds.deviceId, channel), payload, opts)),
      },
    },
    config: { kind: 'edge', url: edge.url, adminToken: edge.adminToken, publicUrl: edge.url, ca: pki.caPem },
    log: pino({ level: 'silent' }),
    statsIntervalMs: 500,
  });
  t.teardown(() => link.close());
  await mqtt.publishAsync(deviceTopic(creds.deviceId, 'presence'), presence('online', { mediaUrl: edge.url }), {
    qos: 1,
    retain: true,
  });
  return { creds, edge };
}

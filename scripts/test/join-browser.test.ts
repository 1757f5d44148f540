// Phones and tablets join a meeting by a fleet-issued join link, end to end:
// the fleet (buildFleet, its broker and dashboard), two boxes' media edges
// (real mediasoup workers) serving HTTPS with certificates from a throwaway
// province CA, each box's agent link (the real appliance/src/media/agent-link.ts
// over the box's own MQTT session), and Debian's Chromium with fake camera and
// microphone. The browsers trust the CA the way a phone would after installing
// the CA profile: in the NSS database of their HOME (certutil), with no flag that
// loosens certificate checks or treats an insecure origin as secure.
//
// A phone (390x844, touch, mobile user agent) and a tablet (820x1180) each open
// their link on the commune's edge, send camera and microphone (the edge
// receives their packets: a tap counts them) and decode the chair's featured
// picture. The phone asks to speak; the chair's console (the dashboard on a
// 1024x768 tablet) shows the request and grants it; the phone reads that it has
// the floor and its camera now crosses the cascade to the chair's edge.
import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { chromium } from 'playwright-core';
import type { Site } from '@diemcau/shared';
import { makeCerts } from '../../appliance/test/helpers/certs.js';
import { tempDir, until } from '../../appliance/test/media/helpers.js';
import { ADMIN_TOKEN, startTestFleet } from '../../fleet/test/helpers/fleet.js';
import { CHROMIUM, signIn } from '../../fleet/test/ui/helpers/browser.js';
import { homeTrusting, openDevice, PHONE, siteBox, TABLET, type Device } from './join-helpers.js';

const root = path.resolve(import.meta.dirname, '..', '..');
execFileSync(process.execPath, [path.join(root, 'fleet', 'scripts', 'build-ui.mjs')], { stdio: 'inherit' });

/** Counts RTP packets a tap sends to a local UDP port. */
async function packetCounter(tt: {
  teardown(fn: () => unknown): void;
}): Promise<{ port: number; count: () => number }> {
  const sock = dgram.createSocket('udp4');
  let n = 0;
  sock.on('message', () => (n += 1));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  tt.teardown(() => sock.close());
  return { port: (sock.address() as AddressInfo).port, count: () => n };
}

interface PageState {
  joined: boolean;
  error: string | null;
  participantId: string | null;
  produced: string[];
  speak: string | null;
}

t.test(
  'a phone and a tablet join by link over HTTPS, send, see the chair, and the phone is given the floor',
  async (t) => {
    const dir = tempDir('diemcau-join-');
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const pki = makeCerts(dir, 'Diemcau test province CA');
    const home = homeTrusting(pki.caFile);
    t.teardown(() => fs.rmSync(home, { recursive: true, force: true }));

    const f = await startTestFleet(t);
    const fleetUrl = `http://127.0.0.1:${(f.fleet.http.server.address() as AddressInfo).port}`;
    const sites = (await f.api<{ items: Site[] }>('GET', '/api/v1/sites')).body.items;
    const district = sites.find((s) => s.kind === 'district')!;
    const commune = sites.find((s) => s.parentId === district.id)!;

    // Two boxes: the district (the chair, a simulated room) and a commune (no room of its own here).
    const box = (siteId: string, hardware: 'simulated' | 'none') => siteBox(t, f, pki, siteId, hardware);
    const chair = await box(district.id, 'simulated');
    const room = await box(commune.id, 'none');
    t.match(room.edge.url, /^https:\/\/127\.0\.0\.1:/, 'the edges serve HTTPS');

    const created = await f.api<{ id: string }>('POST', '/api/v1/meetings', {
      body: { title: 'Giao ban trực tuyến', chairSiteId: district.id, siteIds: [commune.id] },
    });
    t.equal(created.status, 201);
    const M = created.body.id;
    await until(
      "the chair's room at the commune's edge",
      async () => (await room.edge.streams(M)).filter((s) => s.siteId === district.id).length === 2,
    );

    const linkFor = async (): Promise<string> => {
      const r = await f.api<{ url: string | null }>('POST', `/api/v1/meetings/${M}/join-links`, {
        body: { siteId: commune.id, ttlMin: 30 },
      });
      if (r.status !== 201 || !r.body.url) throw new Error(`join link: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body.url;
    };

    const joinOn = async (d: Device) => {
      const { page, errors } = await openDevice(t, d, home);
      const url = await linkFor();
      t.match(
        url,
        new RegExp(`^${room.edge.url}/media/v1/join\\?link=`),
        `${d.name}: the link opens the commune's edge`,
      );
      await page.goto(url);
      t.equal(await page.evaluate('window.isSecureContext'), true, `${d.name}: a secure context (camera allowed)`);
      const state = await until(
        `${d.name} joined and sending`,
        async () => {
          const s = (await page.evaluate('window.diemcau')) as PageState | undefined;
          if (s?.error) throw new Error(s.error);
          return s?.joined && s.produced.length === 2 ? s : null;
        },
        60_000,
      ).catch((err: unknown) => {
        throw new Error(`${String(err)}; page errors: ${errors.join('; ')}`);
      });
      // The edge receives what the browser sends: a tap on each of its streams counts packets.
      const mine = (await room.edge.streams(M)).filter((s) => s.siteId === state.participantId);
      t.same(mine.map((s) => s.kind).sort(), ['audio', 'video'], `${d.name}: camera and microphone at the edge`);
      for (const s of mine) {
        const counter = await packetCounter(t);
        const tap = await room.edge.api('POST', `/media/v1/meetings/${M}/taps`, {
          producerId: s.id,
          ip: '127.0.0.1',
          port: counter.port,
        });
        t.equal(tap.status, 201);
        await until(`${d.name}'s ${s.kind} packets`, async () => counter.count() >= 20, 30_000);
        t.pass(`${d.name}: the edge receives its ${s.kind} packets`);
      }
      // The chair is featured: its picture is decoded and shown large.
      await until(
        `${d.name} decodes the chair`,
        async () => {
          const frames = (await page.evaluate('window.diemcauFrames()')) as Record<string, number>;
          return (frames[district.id] ?? 0) > 5;
        },
        60_000,
      );
      await page.locator(`#stage .tile[data-site-id="${district.id}"]`).waitFor();
      const width = (await page.evaluate('document.documentElement.scrollWidth')) as number;
      t.ok(width <= d.viewport.width, `${d.name}: nothing runs off the screen (${width} px)`);
      t.pass(`${d.name}: sees the chair's featured picture`);
      return { page, state };
    };

    const phone = await joinOn(PHONE);
    const tablet = await joinOn(TABLET);

    // Links misused as an attacker would, each explained on the page in words.
    const chairLink = await f.api<{ link: string }>('POST', `/api/v1/meetings/${M}/join-links`, {
      body: { siteId: district.id },
    });
    const own = new URL(await linkFor()).searchParams.get('link')!;
    const [payload, sig] = own.split('.') as [string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as object;
    const altered = `${Buffer.from(JSON.stringify({ ...claims, exp: 4_000_000_000 })).toString('base64url')}.${sig}`;
    for (const [what, link, words] of [
      ["the chair's link on the commune's edge", chairLink.body.link, 'dành cho điểm cầu khác'],
      ['a link altered to last for ever', altered, 'không hợp lệ'],
    ] as const) {
      const page = await tablet.page.context().newPage();
      await page.goto(`${room.edge.url}/media/v1/join?link=${link}`);
      await page.locator('#refused:not([hidden])').waitFor();
      t.match(await page.locator('#refused-vi').innerText(), words, `${what}: refused, and the page says why`);
      await page.close();
    }

    // The phone asks to speak.
    await phone.page.tap('#ask');
    await phone.page.locator('#speak', { hasText: 'chờ chủ trì' }).waitFor();

    // The chair's console shows it, and the chair grants it.
    const consoleB = await chromium.launchPersistentContext(tempDir('diemcau-chromium-'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
      viewport: { width: 1024, height: 768 },
      locale: 'vi-VN',
    });
    t.teardown(() => consoleB.close());
    const chairPage = consoleB.pages()[0] ?? (await consoleB.newPage());
    await signIn(chairPage, fleetUrl, ADMIN_TOKEN);
    await chairPage.goto(`${fleetUrl}/#/meetings/${M}`);
    const request = chairPage.locator(`[data-testid=requests] li[data-site="${commune.id}"]`);
    await request.waitFor({ timeout: 30_000 });
    t.match(await request.innerText(), commune.name, "the request shows with the site's name");
    t.match(await request.innerText(), /từ trình duyệt/, 'as asked from a browser');
    await request.locator('[data-testid=grant]').click();
    await request.waitFor({ state: 'detached' });

    // The phone holds the floor, and its camera crosses to the chair's edge.
    await phone.page.locator('#speak', { hasText: 'Bạn đang được phát biểu' }).waitFor({ timeout: 30_000 });
    t.equal(((await phone.page.evaluate('window.diemcau')) as PageState).speak, 'floor');
    await until(
      "the phone's camera flowing at the chair's edge",
      async () =>
        (await chair.edge.streams(M)).some(
          (s) => s.siteId === phone.state.participantId && s.kind === 'video' && !s.paused,
        ),
      30_000,
    );
    t.pass("granted: the phone's camera is featured across the cascade");
  },
);

// The dashboard plugin over real HTTP: the bundle at / with nothing fetched
// from outside, the live feed filtered per district, acknowledgements and
// their permissions, and streams that end when the fleet closes.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import http from 'node:http';
import zlib from 'node:zlib';
import t from 'tap';
import type { UiEvent } from '../../src/ui/ui-events.js';
import { startSimFleet } from './helpers/sim-sites.js';
import { readEvents } from '../helpers/events.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
execFileSync(process.execPath, [path.join(root, 'fleet', 'scripts', 'build-ui.mjs')], { stdio: 'inherit' });

const sf = await startSimFleet();
t.teardown(() => sf.close());
const districts = sf.sites.filter((s) => s.kind === 'district');
const [dA, dB] = [districts[0]!, districts[1]!];
const inA = sf.sites.find((s) => s.parentId === dA.id)!;
const inB = sf.sites.find((s) => s.parentId === dB.id)!;
await sf.online([inA.id, inB.id]);

const opA = await sf.api<{ token: string }>('POST', '/api/v1/operators', {
  name: 'A',
  role: 'district-operator',
  districtId: dA.id,
});
const viewer = await sf.api<{ token: string }>('POST', '/api/v1/operators', { name: 'V', role: 'viewer' });

/** Reads the event stream into an array until stopped. */
const listen = (token: string) => readEvents(sf.url, token);

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 50));
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}

t.test('the page loads from the fleet alone', async (t) => {
  const html = await (await fetch(`${sf.url}/`)).text();
  t.match(html, /<div id="app">/);
  t.notMatch(html.replaceAll('http://www.w3.org/2000/svg', ''), /https?:\/\//, 'no CDN or other outside address');
  const js = await fetch(`${sf.url}/ui/app.js`);
  t.equal(js.status, 200);
  t.match(js.headers.get('content-type'), /javascript/);
  t.notMatch(await js.text(), /\b(src|href)=["']https?:\/\/(?!www\.w3\.org)/, 'the bundle loads nothing from outside');
  for (const p of ['/ui/..%2f..%2fpackage.json', '/ui/../../package.json', '/ui/%2e%2e/%2e%2e/package.json']) {
    // fetch() resolves the dot segments itself: then no route matches and an anonymous caller gets 401.
    t.ok([401, 403, 404].includes((await fetch(`${sf.url}${p}`)).status), `nothing outside the bundle: ${p}`);
  }
});

/** A raw GET (fetch would decompress on its own and hide what travelled). */
function rawGet(
  p: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(`${sf.url}${p}`, { headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

t.test('the page travels compressed, under a strict policy, with its icon', async (t) => {
  const page = await rawGet('/');
  const csp = String(page.headers['content-security-policy']);
  t.match(csp, /default-src 'none'/);
  t.match(csp, /script-src 'self'(;|$)/, 'scripts from the fleet only');
  t.notMatch(csp, /unsafe-inline|unsafe-eval|\*|https?:/, 'no inline code, no eval, no outside address');
  t.equal(page.headers['x-content-type-options'], 'nosniff');
  const icon = await rawGet('/favicon.ico');
  t.equal(icon.status, 200, '/favicon.ico without a token');
  t.equal(icon.headers['content-type'], 'image/x-icon');
  t.same([...icon.body.subarray(0, 4)], [0, 0, 1, 0], 'an ICO file');
  t.same([...icon.body.subarray(22, 26)], [0x89, 0x50, 0x4e, 0x47], 'holding a PNG');

  const plainJs = await rawGet('/ui/app.js');
  const js = await rawGet('/ui/app.js', { 'accept-encoding': 'gzip' });
  t.equal(js.headers['content-encoding'], 'gzip');
  t.equal(zlib.gunzipSync(js.body).length, plainJs.body.length, 'the same bundle');
  t.ok(js.body.length < plainJs.body.length / 2, `bundle ${plainJs.body.length} B → ${js.body.length} B`);

  const auth = { authorization: 'Bearer ui-test-admin-token-0123456789' };
  const plainList = await rawGet('/api/v1/sites', auth);
  const list = await rawGet('/api/v1/sites', { ...auth, 'accept-encoding': 'br, gzip' });
  t.equal(list.headers['content-encoding'], 'br', 'brotli when offered');
  t.same(JSON.parse(zlib.brotliDecompressSync(list.body).toString()), JSON.parse(plainList.body.toString()));
  t.ok(list.body.length < plainList.body.length / 3, `site list ${plainList.body.length} B → ${list.body.length} B`);
  t.equal(plainList.headers['content-encoding'], undefined, 'plain for a client that asks for nothing else');
});

t.test('the feed needs a token', async (t) => {
  t.equal((await fetch(`${sf.url}/api/v1/events`)).status, 401);
});

t.test("a district operator's feed carries only his district", async (t) => {
  const admin = listen('ui-test-admin-token-0123456789');
  const a = listen(opA.token);
  await until(() => admin.events.length > 0 && a.events.length > 0, 'hello');
  t.match(
    await (
      await fetch(`${sf.url}/metrics`, { headers: { authorization: 'Bearer ui-test-admin-token-0123456789' } })
    ).text(),
    /^diemcau_dashboard_streams 2$/m,
    'open streams counted in /metrics',
  );
  sf.kill(inB.id);
  sf.kill(inA.id);
  const offlineAlert = (e: UiEvent, siteId: string) =>
    e.type === 'alert' && e.alert.type === 'device-offline' && e.alert.siteId === siteId;
  await until(
    () => admin.events.some((e) => offlineAlert(e, inA.id)) && admin.events.some((e) => offlineAlert(e, inB.id)),
    'both alerts on the admin feed',
  );
  await until(() => a.events.some((e) => offlineAlert(e, inA.id)), 'own alert on the district feed');
  t.ok(
    a.events.some((e) => e.type === 'presence' && e.siteId === inA.id && !e.online),
    'own presence change',
  );
  const leaked = a.events.filter((e) => JSON.stringify(e).includes(inB.id));
  t.same(leaked, [], 'nothing about the other district');
  await admin.stop();
  await a.stop();
});

t.test('a meeting made or ended reaches every dashboard as "fetch the meetings again"', async (t) => {
  const admin = listen('ui-test-admin-token-0123456789');
  const a = listen(opA.token);
  await until(() => admin.events.length > 0 && a.events.length > 0, 'hello');
  const count = (l: { events: UiEvent[] }) => l.events.filter((e) => e.type === 'meetings').length;
  const made = await sf.api<{ id: string }>('POST', '/api/v1/meetings', {
    title: 'Giao ban',
    chairSiteId: dB.id,
    siteIds: [inB.id],
  });
  await until(() => count(admin) >= 1 && count(a) >= 1, 'the change on both feeds');
  t.pass('the district operator hears of it too: the event carries no data, the list API filters');
  const before = count(admin);
  await sf.api('POST', `/api/v1/meetings/${made.id}/end`, {});
  await until(() => count(admin) > before, 'the end');
  t.pass('ending it is heard as well');
  await admin.stop();
  await a.stop();
});

t.test('a device stream carries its samples, only to those who may see the device', async (t) => {
  await sf.online([sf.sites.find((s) => s.parentId === dA.id && s.id !== inA.id)!.id]);
  const siteA = [...sf.devices.values()].find((d) => sf.fleet.sites.isWithin(d.siteId, dA.id))!;
  const status = async (token: string) => {
    const ctrl = new AbortController();
    const res = await fetch(`${sf.url}/api/v1/devices/${siteA.deviceId}/live`, {
      headers: { authorization: `Bearer ${token}` },
      signal: ctrl.signal,
    });
    ctrl.abort();
    return res.status;
  };
  const opB = await sf.api<{ token: string }>('POST', '/api/v1/operators', {
    name: 'B',
    role: 'district-operator',
    districtId: dB.id,
  });
  t.equal(await status(opB.token), 403, "another district's operator");
  const events: UiEvent[] = [];
  const ctrl = new AbortController();
  const res = await fetch(`${sf.url}/api/v1/devices/${siteA.deviceId}/live`, {
    headers: { authorization: `Bearer ${opA.token}` },
    signal: ctrl.signal,
  });
  t.equal(res.status, 200);
  const reading = (async () => {
    const dec = new TextDecoder();
    try {
      for await (const chunk of res.body!) {
        for (const line of dec.decode(chunk as Uint8Array).split('\n'))
          if (line.startsWith('data: ')) events.push(JSON.parse(line.slice(6)) as UiEvent);
      }
    } catch {
      /* aborted */
    }
  })();
  await until(() => events.some((e) => e.type === 'hello'), 'hello');
  await sf.sample(siteA.siteId, 99, 42);
  await until(() => events.some((e) => e.type === 'telemetry'), 'the sample');
  const sample = events.find((e) => e.type === 'telemetry');
  t.match(sample, { type: 'telemetry', deviceId: siteA.deviceId, sample: { seq: 99, cpu: { loadPercent: 42 } } });
  ctrl.abort();
  await reading;
});

t.test('acknowledging: operators may, viewers may not, nobody outside his district', async (t) => {
  const alerts = (await sf.api<{ items: { id: number; siteId: string }[] }>('GET', '/api/v1/alerts?state=open')).items;
  const alertB = alerts.find((a) => a.siteId === inB.id)!;
  const alertA = alerts.find((a) => a.siteId === inA.id)!;
  const post = (id: number, token: string) =>
    fetch(`${sf.url}/api/v1/alerts/${id}/ack`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ note: 'on it' }),
    });
  t.equal((await post(alertA.id, viewer.token)).status, 403, 'viewer');
  t.equal((await post(alertB.id, opA.token)).status, 404, "another district's alert does not exist for him");
  const ok = await post(alertA.id, opA.token);
  t.equal(ok.status, 200);
  t.match(await ok.json(), { alertId: alertA.id, by: 'A', note: 'on it' });
  const listA = await sf.api<{ items: { alertId: number }[] }>('GET', '/api/v1/alert-acks', undefined, opA.token);
  t.same(
    listA.items.map((x) => x.alertId),
    [alertA.id],
  );
  const audit = await sf.api<{ items: { action: string; target: string }[] }>(
    'GET',
    `/api/v1/audit?target=alert:${alertA.id}`,
  );
  t.equal(audit.items[0]?.action, 'POST /api/v1/alerts/:id/ack', 'audited');
});

t.test('open streams end when the fleet closes', async (t) => {
  const s = listen(opA.token);
  await until(() => s.events.length > 0, 'hello');
  await sf.close();
  await s.stop();
  t.pass('close() returned with a dashboard connected');
});

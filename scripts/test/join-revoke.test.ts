// A join link revoked while a phone is in the meeting with it, end to end:
// the fleet (buildFleet, its broker), two boxes' media edges (real mediasoup
// workers, HTTPS from a throwaway province CA) with their agent links over the
// boxes' own MQTT sessions, and Debian's Chromium as a phone trusting the CA.
// The phone joins the commune's edge by its link and sends camera and
// microphone; an operator lists the meeting's links and revokes the phone's
// through the fleet's API; the revocation travels in the commune edge's plan,
// the edge closes the phone's transports (its streams leave the room) and the
// page says, in Vietnamese and English, that the link was revoked. Opening
// the link again is refused with the same words; a second phone with another
// link stays in the meeting throughout.
import fs from 'node:fs';
import t from 'tap';
import type { Site } from '@diemcau/shared';
import { makeCerts } from '../../appliance/test/helpers/certs.js';
import { tempDir, until } from '../../appliance/test/media/helpers.js';
import { startTestFleet } from '../../fleet/test/helpers/fleet.js';
import { homeTrusting, openDevice, PHONE, siteBox } from './join-helpers.js';

interface PageState {
  joined: boolean;
  error: string | null;
  participantId: string | null;
  produced: string[];
  refusal?: string | null;
}

t.test('a revoked link is refused at once, also for the phone already in the meeting with it', async (t) => {
  const dir = tempDir('diemcau-revoke-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const pki = makeCerts(dir, 'Diemcau test province CA');
  const home = homeTrusting(pki.caFile);
  t.teardown(() => fs.rmSync(home, { recursive: true, force: true }));

  const f = await startTestFleet(t);
  const sites = (await f.api<{ items: Site[] }>('GET', '/api/v1/sites')).body.items;
  const district = sites.find((s) => s.kind === 'district')!;
  const commune = sites.find((s) => s.parentId === district.id)!;
  await siteBox(t, f, pki, district.id, 'none');
  const room = await siteBox(t, f, pki, commune.id, 'none');

  const created = await f.api<{ id: string }>('POST', '/api/v1/meetings', {
    body: { title: 'Giao ban trực tuyến', chairSiteId: district.id, siteIds: [commune.id] },
  });
  t.equal(created.status, 201);
  const M = created.body.id;
  await until("the meeting open at the commune's edge", async () => Array.isArray(await room.edge.streams(M)));
  const issue = async (): Promise<{ id: string; url: string }> => {
    const r = await f.api<{ id: string; url: string | null }>('POST', `/api/v1/meetings/${M}/join-links`, {
      body: { siteId: commune.id, ttlMin: 30 },
    });
    if (r.status !== 201 || !r.body.url) throw new Error(`join link: ${r.status} ${JSON.stringify(r.body)}`);
    return { id: r.body.id, url: r.body.url };
  };
  const joinWith = async (url: string) => {
    const { page, errors } = await openDevice(t, PHONE, home);
    await page.goto(url);
    const state = await until(
      'the phone joined and sending',
      async () => {
        const s = (await page.evaluate('window.diemcau')) as PageState | undefined;
        if (s?.error) throw new Error(s.error);
        return s?.joined && s.produced.length === 2 ? s : null;
      },
      60_000,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}; page errors: ${errors.join('; ')}`);
    });
    return { page, state };
  };
  const streamsOf = async (participantId: string | null) =>
    (await room.edge.streams(M)).filter((s) => s.siteId === participantId).length;

  const kept = await issue();
  const doomed = await issue();
  const stays = await joinWith(kept.url);
  const phone = await joinWith(doomed.url);
  t.equal(await streamsOf(phone.state.participantId), 2, "the phone's camera and microphone are in the room");

  // The operator finds the link in the meeting's list and revokes it.
  const listed = await f.api<{ items: Array<{ id: string; state: string }> }>(
    'GET',
    `/api/v1/meetings/${M}/join-links`,
  );
  t.ok(
    listed.body.items.some((l) => l.id === doomed.id && l.state === 'active'),
    'listed by its id',
  );
  const revoked = await f.api<{ state: string }>('DELETE', `/api/v1/meetings/${M}/join-links/${doomed.id}`);
  t.equal(revoked.status, 200);
  t.equal(revoked.body.state, 'revoked');

  // The edge closes the phone: its streams leave the room, and its page says why.
  await until(
    'the phone is closed at the edge',
    async () => (await streamsOf(phone.state.participantId)) === 0,
    30_000,
  );
  t.pass("the phone's transports are closed: its streams are gone from the room");
  await phone.page.locator('#refused:not([hidden])').waitFor({ timeout: 30_000 });
  t.match(await phone.page.locator('#refused-vi').innerText(), /đã bị thu hồi/, 'the page says so in Vietnamese');
  t.match(await phone.page.locator('#refused-en').innerText(), /has been revoked/, 'and in English');
  const after = (await phone.page.evaluate('window.diemcau')) as PageState;
  t.equal(after.joined, false, 'the page has left the meeting');
  t.equal(after.refusal, 'join-link-revoked');
  const camera = await phone.page.evaluate(
    `document.getElementById('self').srcObject?.getTracks().map((x) => x.readyState) ?? []`,
  );
  t.same(camera, ['ended', 'ended'], 'its camera and microphone are stopped');

  // The link opened again: refused, with the same words.
  const again = await phone.page.context().newPage();
  await again.goto(doomed.url);
  await again.locator('#refused:not([hidden])').waitFor({ timeout: 30_000 });
  t.match(await again.locator('#refused-vi').innerText(), /đã bị thu hồi/, 'opening it again is refused');
  await again.close();

  // The other phone, with its own link, never left.
  t.equal(await streamsOf(stays.state.participantId), 2, 'the other phone still sends');
  t.equal(((await stays.page.evaluate('window.diemcau')) as PageState).joined, true);
});

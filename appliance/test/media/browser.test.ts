// A browser joins a meeting on an edge (Debian's Chromium, fake camera and
// microphone): it receives the commune's room across the cascade, decodes its
// frames, and publishes its own camera and microphone, which reach the commune.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { launchChromium, node, plansFor, spawnEdge, tempDir, until, type EdgeProc } from './helpers.js';

const M = 'm-web';

t.test('a browser joins on the core and meets a commune', async (t) => {
  const edges: EdgeProc[] = [];
  t.teardown(async () => {
    await Promise.all(edges.map((e) => e.kill()));
  });
  const core = await spawnEdge({ edgeId: 'core', role: 'core' });
  edges.push(core);
  // The commune's room is silent: the guest is the one who speaks (a room heard speaking keeps
  // the floor against a steady tone, which the speaker observer takes for noise: speaker-gate.ts).
  const cA = await spawnEdge({ edgeId: 'cA', hardware: 'simulated', env: { DIEMCAU_EDGE_SIM_VOICE: 'silent' } });
  edges.push(cA);
  const nCore = node(core, null, null);
  const rooms = [nCore, node(cA, 'site-a', nCore)];
  for (const [n, p] of plansFor(M, rooms, 'site-a')) await n.edge.plan(p);
  await until('cA at the core', async () => ((await core.streams(M)).length === 2 ? true : null));

  // The guest speaks without a pause (Chromium's own fake microphone only beeps once a second),
  // so the core hears it, names it speaker and sends it down to the commune.
  const dir = tempDir('diemcau-voice-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const voice = path.join(dir, 'voice.wav');
  fs.writeFileSync(voice, toneWav(2, 440, 0.25));
  const { browser, page } = await launchChromium(t, [
    '--use-fake-device-for-media-stream',
    '--use-fake-ui-for-media-stream',
    `--use-file-for-fake-audio-capture=${voice}`,
  ]);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${core.url}/media/v1/join?meeting=${M}&token=${encodeURIComponent(core.joinToken)}`);

  type State = { joined: boolean; error: string | null; peerId: string | null; produced: string[] };
  const state = await until(
    'browser joined and publishing',
    async () => {
      const s = await page.evaluate(() => (globalThis as unknown as { diemcau: State }).diemcau);
      if (s?.error) throw new Error(s.error);
      return s?.joined && s.produced.length === 2 ? s : null;
    },
    45_000,
  ).catch((err: unknown) => {
    throw new Error(`${String(err)}; page errors: ${errors.join('; ')}`);
  });

  // The commune's picture is decoded in the browser.
  const frames = await until(
    'frames from site-a decoded in the browser',
    async () => {
      const f = await page.evaluate(() =>
        (globalThis as unknown as { diemcauFrames: () => Promise<Record<string, number>> }).diemcauFrames(),
      );
      return (f['site-a'] ?? 0) > 5 ? f : null;
    },
    45_000,
  );
  t.ok(frames['site-a']! > 5, `browser decoded ${frames['site-a']} frames of site-a`);

  // DTLS completed between Chromium and the core's worker (Debian's OpenSSL 3): the
  // worker's own view of the browser's transports (send and receive).
  type WebRtcState = { id: string; iceState: string; dtlsState: string };
  const webRtc = await until(
    'DTLS connected with Chromium',
    async () => {
      const d = await core.api<{ rooms: Array<{ meetingId: string; webRtc?: WebRtcState[] }> }>(
        'GET',
        '/media/v1/dump',
      );
      const w = d.body.rooms.find((r) => r.meetingId === M)?.webRtc ?? [];
      return w.length === 2 && w.every((s) => s.dtlsState === 'connected') ? w : null;
    },
    30_000,
  );
  t.same(
    webRtc.map((s) => s.dtlsState),
    ['connected', 'connected'],
    "both of the browser's transports completed DTLS with the worker",
  );
  t.ok(
    webRtc.every((s) => s.iceState === 'connected' || s.iceState === 'completed'),
    'over ICE',
  );

  // The browser's camera and microphone are streams of the meeting, forwarded down to the commune.
  const atCore = (await core.streams(M)).filter((s) => state.produced.includes(s.id));
  t.same(atCore.map((s) => s.kind).sort(), ['audio', 'video'], "the core holds the browser's two streams");
  t.ok(
    atCore.every((s) => s.siteId === 'core.web1' && s.via === null),
    'as a local guest of the core',
  );
  // cA has ids of its own for them (link/bridge.ts): the guest's site names them.
  const guest = (l: Array<{ siteId: string; originEdgeId: string }>) =>
    l.filter((s) => s.siteId === 'core.web1' && s.originEdgeId === 'core');
  await until('browser streams at cA', async () => (guest(await cA.streams(M)).length === 2 ? true : null));
  t.pass('cA receives the browser over the cascade');

  // "Mute all" closes the browser's microphone too, where it enters the meeting; lifting it opens it again.
  const browserMic = async () =>
    (await core.streams(M)).find((s) => state.produced.includes(s.id) && s.kind === 'audio');
  for (const [n, p] of plansFor(M, rooms, 'site-a', 2, { mutedAll: true })) await n.edge.plan(p);
  await until("the browser's microphone closed by mute all", async () => ((await browserMic())?.paused ? true : null));
  t.pass("mute all pauses the browser's microphone at the core");
  // The page tells its user, in both languages, while the chair keeps the microphone closed.
  const micNotice = () =>
    page.evaluate(() => {
      type El = { hidden: boolean; innerText: string; getBoundingClientRect(): { height: number } };
      const doc = (globalThis as unknown as { document: { getElementById(id: string): El | null } }).document;
      const el = doc.getElementById('mic');
      return el && !el.hidden && el.getBoundingClientRect().height > 0 ? el.innerText : null;
    });
  const notice = await until('the page says the chair closed the microphone', micNotice);
  t.match(notice, /Micrô của bạn đang tắt theo yêu cầu của chủ trì/, 'the page says so in Vietnamese');
  t.match(notice, /The chair has turned off your microphone/, 'and in English');
  for (const [n, p] of plansFor(M, rooms, 'site-a', 3, { mutedAll: false })) await n.edge.plan(p);
  await until("the browser's microphone open again", async () =>
    (await browserMic())?.paused === false ? true : null,
  );
  t.pass('and the end of mute all resumes it');
  await until('the notice goes when the chair opens the microphone', async () =>
    (await micNotice()) === null ? true : null,
  );
  t.pass('and the page no longer says it is closed');

  // The commune's TV (kiosk view on cA's own edge): shows the guest large, never its own room.
  const tv = await browser.newPage();
  await tv.goto(`${cA.url}/media/v1/join?meeting=${M}&view=kiosk&token=${encodeURIComponent(cA.joinToken)}`);
  const tvLayout = await until('the TV lays out the guest', async () => {
    const s = await tv.evaluate(
      () =>
        (
          globalThis as unknown as {
            diemcau: { layout?: { large: string[]; small: string[]; self: string | null }; produced: string[] };
          }
        ).diemcau,
    );
    return s.layout && s.layout.large.length > 0
      ? { large: s.layout.large, small: s.layout.small, self: s.layout.self, produced: s.produced.length }
      : null;
  });
  t.same(
    tvLayout,
    { large: ['core.web1'], small: [], self: 'site-a', produced: 0 },
    'the TV shows the guest large and publishes nothing',
  );
  const tvFrames = await until(
    'frames on the TV',
    async () => {
      const f = await tv.evaluate(() =>
        (globalThis as unknown as { diemcauFrames: () => Promise<Record<string, number>> }).diemcauFrames(),
      );
      return (f['core.web1'] ?? 0) > 5 ? f : null;
    },
    45_000,
  );
  t.notOk('site-a' in tvFrames, 'and never receives its own room');
  const tvConsumed = await tv.evaluate(() =>
    Object.values(
      (globalThis as unknown as { diemcau: { consumed: Record<string, { siteId?: string }> } }).diemcau.consumed,
    ).map((c) => c.siteId),
  );
  t.notOk(tvConsumed.includes('site-a'), 'not even its sound (no echo)');
  await tv.close();

  // Closing the tab (the page says goodbye on pagehide) closes its streams everywhere.
  await page.close({ runBeforeUnload: true });
  await until(
    'browser streams gone at cA',
    async () => (guest(await cA.streams(M)).length === 0 ? true : null),
    45_000,
  );
  t.pass('its streams are gone at cA once the tab is closed');
  t.equal(
    (await core.api('DELETE', `/media/v1/meetings/${M}/peers/${state.peerId}`)).status,
    404,
    'and the core has already forgotten the peer',
  );
  t.equal(
    (await core.dump()).rooms[0]!.transportIds.length,
    1,
    'no WebRTC transport left at the core, only the link to cA',
  );
});

/** A mono 16-bit 48 kHz WAV of a steady tone (Chromium loops it as the microphone). */
function toneWav(seconds: number, hz: number, amplitude: number): Buffer {
  const rate = 48_000;
  const samples = seconds * rate;
  const wav = Buffer.alloc(44 + samples * 2);
  wav.write('RIFF', 0);
  wav.writeUInt32LE(36 + samples * 2, 4);
  wav.write('WAVEfmt ', 8);
  wav.writeUInt32LE(16, 16);
  wav.writeUInt16LE(1, 20); // PCM
  wav.writeUInt16LE(1, 22); // mono
  wav.writeUInt32LE(rate, 24);
  wav.writeUInt32LE(rate * 2, 28);
  wav.writeUInt16LE(2, 32);
  wav.writeUInt16LE(16, 34);
  wav.write('data', 36);
  wav.writeUInt32LE(samples * 2, 40);
  for (let i = 0; i < samples; i++)
    wav.writeInt16LE(Math.round(amplitude * 32767 * Math.sin((2 * Math.PI * hz * i) / rate)), 44 + i * 2);
  return wav;
}

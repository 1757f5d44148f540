// The host names as speaker only a microphone it hears (speaker-gate.ts).
// First the gate's rule on its own, in logical time; then a host edge on a
// real mediasoup worker whose dominant-speaker observer names a silent open
// microphone (it always names someone: the only microphone it has, and any
// other when the one it had named goes away), and the room does not take it.
import dgram from 'node:dgram';
import { Writable } from 'node:stream';
import t from 'tap';
import { pino } from 'pino';
import type { MediaPlan } from '@diemcau/shared';
import { INGEST, MediaWorkers, ingestRtpParameters, type Stream } from '../../src/media/adapter/index.js';
import { loadEdgeConfig, peerLimits } from '../../src/media/config.js';
import { Edge } from '../../src/media/edge.js';
import { audioLevelByte, withAudioLevel } from '../../src/media/rtp/audio-level.js';
import { HEARD_HOLD_MS, SUSTAIN_REPORTS, SpeakerGate } from '../../src/media/speaker-gate.js';
import { until } from './helpers.js';

t.test('the gate: the observer’s choice counts only once that microphone is heard', async (t) => {
  const g = new SpeakerGate();
  t.equal(g.dominantSpeaker('quiet', 0), null, 'a silent open microphone the observer names is not named');
  t.equal(g.heard(['other'], 300), null, 'nor when another microphone is heard');
  t.equal(g.heard(['quiet'], 600), 'quiet', 'it is named at the first report that hears it');

  const h = new SpeakerGate();
  t.equal(h.heard(['talker'], 1000), null, 'heard but not chosen: nobody named');
  t.equal(h.dominantSpeaker('talker', 1000 + HEARD_HOLD_MS), 'talker', 'chosen within its hold time: named');
  t.equal(h.dominantSpeaker('talker', 1001 + HEARD_HOLD_MS + 300), null, 'chosen once its hold has passed: not');
  t.equal(h.heard(['talker'], 4000), 'talker', 'until it is heard again');

  h.forget('talker');
  t.equal(h.heard(['other'], 4100), null, 'a microphone that left is no longer the choice');
  t.notOk(h.isHeard('talker', 4100), 'nor heard');
});

t.test('the gate: one who keeps speaking while the observer’s choice is silent is named', async (t) => {
  const g = new SpeakerGate();
  t.equal(g.dominantSpeaker('closed', 0), null, 'the observer holds on to a microphone that closed');
  t.equal(g.heard(['floor'], 300), null, 'the floor heard once: not yet');
  t.equal(g.heard([], 600), null, 'a report that does not hear it breaks the run');
  t.equal(g.heard(['floor'], 900), null, 'heard again: once in a row');
  t.equal(g.heard(['floor'], 1200), 'floor', `${SUSTAIN_REPORTS} reports in a row: named`);
  t.equal(g.heard(['other', 'floor'], 1500), null, 'a louder one does not take over while the floor is heard');
  t.equal(g.heard(['other'], 1800), null, 'nor when the floor pauses');
  t.equal(g.heard(['other'], 2100), null, 'for less than the hold');
  t.equal(
    g.heard(['other'], 1500 + HEARD_HOLD_MS + 100),
    'other',
    'once the floor has not been heard for the hold, the one who kept speaking is',
  );
  t.equal(g.dominantSpeaker('floor', 3300), null, 'the observer choosing the floor, now silent, names nobody');
  t.equal(g.heard(['floor'], 3600), 'floor', 'its choice, heard again, is named at once');
});

t.test('the gate: a microphone that closes holds the floor against nobody', async (t) => {
  const open = new SpeakerGate();
  open.heard(['a'], 300);
  t.equal(open.heard(['a'], 600), 'a', 'a is named');
  t.equal(open.heard(['b'], 900), null, 'a pauses, b is heard');
  t.equal(open.heard(['b'], 1200), null, 'an open microphone that paused keeps the floor for the hold');

  const closing = new SpeakerGate();
  closing.heard(['a'], 300);
  t.equal(closing.heard(['a'], 600), 'a', 'a is named');
  closing.closed('a');
  t.notOk(closing.isHeard('a', 650), 'a closed microphone is no longer heard');
  t.equal(closing.heard(['b'], 900), null, 'b heard once');
  t.equal(closing.heard(['b'], 1200), 'b', `b is named after ${SUSTAIN_REPORTS} reports, without waiting out a's hold`);
  closing.heard(['a'], 1500);
  t.equal(closing.heard(['a'], 1800), null, 'a opened again does not take the floor from b while b is heard');
});

const M = 'm-gate';
const base = 33_000 + (process.pid % 20) * 50;
const limits = peerLimits(
  loadEdgeConfig({ DIEMCAU_EDGE_ID: 'x', DIEMCAU_EDGE_ADMIN_TOKEN: 'a'.repeat(24), DIEMCAU_EDGE_HARDWARE: 'none' }),
);

interface Choice {
  siteId: string | null;
  heard: boolean;
}

t.test('a host on a real worker never names a silent open microphone, and names one it hears', async (t) => {
  // The room's debug log says what the observer chose and whether it was heard.
  const choices: Choice[] = [];
  const named: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
        const j = JSON.parse(line) as { msg?: string; siteId?: string | null; heard?: boolean };
        if (j.msg === 'observer chose a speaker') choices.push({ siteId: j.siteId ?? null, heard: j.heard === true });
        if (j.msg === 'speaker heard' && j.siteId) named.push(j.siteId);
      }
      done();
    },
  });
  const log = pino({ level: 'debug' }, sink);
  const pool = await MediaWorkers.start({ rtcMinPort: base, rtcMaxPort: base + 19, workers: 1, logLevel: 'none' });
  t.teardown(() => pool.close());
  const edge = await Edge.start({
    edgeId: 'core',
    role: 'core',
    listen: { listenIp: '127.0.0.1' },
    capture: null,
    ffmpegBin: 'ffmpeg',
    worker: { shared: pool, ports: { min: base + 20, max: base + 49 } },
    log,
    limits,
    tapAllow: '127.0.0.1',
  });
  t.teardown(() => edge.close());
  const plan: MediaPlan = {
    v: 1,
    revision: 1,
    edgeId: 'core',
    meetings: [
      {
        meetingId: M,
        title: M,
        state: 'live',
        role: 'host',
        upstream: null,
        acceptToken: null,
        downstream: [],
        localSiteId: null,
        chairSiteId: 'quiet',
        floorSiteId: null,
        rollCallSiteId: null,
        mutedAll: false,
      },
    ],
  };
  t.same(await edge.applyPlan(plan), { ok: true });
  const room = edge.room(M)!;

  // Two open microphones fed from this process every 20 ms: 'quiet' is a room
  // where nobody speaks, 'talker' speaks (syllables and pauses) once `talking`.
  const sender = dgram.createSocket('udp4');
  const feeds: Array<{ siteId: string; port: number; ssrc: number; stream: Stream }> = [];
  const mic = async (siteId: string, ssrc: number): Promise<void> => {
    const input = await room.router.createPlainIn('127.0.0.1');
    const stream = await input.produce({
      kind: 'audio',
      rtpParameters: ingestRtpParameters('audio', 'vp8', ssrc, siteId),
      info: { siteId, originEdgeId: 'core' },
    });
    room.addStream(stream, null);
    feeds.push({ siteId, port: input.tuple.port, ssrc, stream });
  };
  let talking = false;
  let seq = 0;
  const feeder = setInterval(() => {
    seq++;
    for (const f of feeds) {
      const a = Buffer.alloc(92);
      a[0] = 0x80;
      a[1] = INGEST.opus.payloadType;
      a.writeUInt16BE(seq & 0xffff, 2);
      a.writeUInt32BE((seq * 960) >>> 0, 4);
      a.writeUInt32BE(f.ssrc, 8);
      // Syllables over the room's noise floor (-70 dBov), as the observer expects speech.
      const talker = f.siteId === 'talker' && talking;
      const level = audioLevelByte(!talker ? -Infinity : seq % 15 < 12 ? -10 - ((seq * 7) % 20) : -70);
      sender.send(withAudioLevel(a, INGEST.audioLevelExtId, level)!, f.port, '127.0.0.1');
    }
  }, 20);
  t.teardown(() => {
    clearInterval(feeder);
    sender.close();
  });

  // The only microphone: the observer names it at once.
  await mic('quiet', 0x6100);
  await until('the observer chooses the silent microphone', async () =>
    choices.some((c) => c.siteId === 'quiet') ? true : null,
  );
  t.same(
    choices.filter((c) => c.siteId === 'quiet'),
    [{ siteId: 'quiet', heard: false }],
    'the observer chose it, unheard',
  );
  t.equal(room.activeSpeakerSiteId, null, 'and nobody is the speaker');

  await mic('talker', 0x6102);
  talking = true;
  await until(
    'the talker named the speaker',
    async () => (room.activeSpeakerSiteId === 'talker' ? true : null),
    60_000,
  );
  t.pass('a microphone that is heard is named');

  // The talker leaves once it is the observer's choice (it may have been named before, as the
  // one heard while the observer's choice was silent): the choice falls on the silent one left.
  await until(
    'the observer chooses the talker',
    async () => (choices.some((c) => c.siteId === 'talker') ? true : null),
    60_000,
  );
  const before = choices.length;
  feeds.find((f) => f.siteId === 'talker')!.stream.close();
  await until('the observer chooses again after the talker left', async () =>
    choices.slice(before).some((c) => c.siteId === 'quiet') ? true : null,
  );
  t.equal(room.activeSpeakerSiteId, 'talker', 'the talker stays the most recent speaker');
  t.same(named, ['talker'], 'only the talker was ever named');
});

t.test('on a real worker, a microphone that closes holds the floor against nobody', async (t) => {
  // What the room's wiring must do: the microphone's pause reaches the gate
  // (room.ts addStream). The hold is made longer than the test, so that only
  // that wiring can let another room take the floor: without it, the closed
  // microphone counts as heard for the whole hold. The other room hums at one
  // steady level: the level observer hears it, while the dominant-speaker
  // observer, which looks for speech over a room's noise floor, never chooses it.
  const named: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
        const j = JSON.parse(line) as { msg?: string; siteId?: string; sites?: string };
        if (j.msg === 'speaker heard' && j.siteId) named.push(j.siteId);
      }
      done();
    },
  });
  const log = pino({ level: 'debug' }, sink);
  const pool = await MediaWorkers.start({ rtcMinPort: base, rtcMaxPort: base + 19, workers: 1, logLevel: 'none' });
  t.teardown(() => pool.close());
  const edge = await Edge.start({
    edgeId: 'core',
    role: 'core',
    listen: { listenIp: '127.0.0.1' },
    capture: null,
    ffmpegBin: 'ffmpeg',
    worker: { shared: pool, ports: { min: base + 20, max: base + 49 } },
    log,
    limits,
    tapAllow: '127.0.0.1',
    speakerHoldMs: 10 * 60_000,
  });
  t.teardown(() => edge.close());
  const meeting = {
    meetingId: M,
    title: M,
    state: 'live' as const,
    role: 'host' as const,
    upstream: null,
    acceptToken: null,
    downstream: [],
    localSiteId: null,
    chairSiteId: 'chair',
    floorSiteId: null,
    rollCallSiteId: null,
    mutedAll: false,
  };
  t.same(await edge.applyPlan({ v: 1, revision: 1, edgeId: 'core', meetings: [meeting] }), { ok: true });
  const room = edge.room(M)!;

  const sender = dgram.createSocket('udp4');
  const feeds: Array<{ siteId: string; port: number; ssrc: number; stream: Stream }> = [];
  const mic = async (siteId: string, ssrc: number): Promise<Stream> => {
    const input = await room.router.createPlainIn('127.0.0.1');
    const stream = await input.produce({
      kind: 'audio',
      rtpParameters: ingestRtpParameters('audio', 'vp8', ssrc, siteId),
      info: { siteId, originEdgeId: 'core' },
    });
    room.addStream(stream, null);
    feeds.push({ siteId, port: input.tuple.port, ssrc, stream });
    return stream;
  };
  let seq = 0;
  const feeder = setInterval(() => {
    seq++;
    for (const f of feeds) {
      const a = Buffer.alloc(92);
      a[0] = 0x80;
      a[1] = INGEST.opus.payloadType;
      a.writeUInt16BE(seq & 0xffff, 2);
      a.writeUInt32BE((seq * 960) >>> 0, 4);
      a.writeUInt32BE(f.ssrc, 8);
      // 'speaker' talks in syllables over a -70 dBov floor; 'hum' stays at -20 dBov.
      const db = f.siteId === 'hum' ? -20 : seq % 15 < 12 ? -10 - ((seq * 7) % 20) : -70;
      sender.send(withAudioLevel(a, INGEST.audioLevelExtId, audioLevelByte(db))!, f.port, '127.0.0.1');
    }
  }, 20);
  t.teardown(() => {
    clearInterval(feeder);
    sender.close();
  });

  const speaker = await mic('speaker', 0x6200);
  await until('the speaker is named', async () => (room.activeSpeakerSiteId === 'speaker' ? true : null), 60_000);
  const hum = await mic('hum', 0x6202);
  await until('the hum is heard', async () => ((await hum.stats()).packets > 100 ? true : null), 60_000);
  t.equal(room.activeSpeakerSiteId, 'speaker', 'while the speaker is heard, the hum does not take the floor');

  // The speaker's room closes its microphone (the chair's controls pause it at its source).
  await speaker.pause();
  await until(
    'the hum takes the floor once the closed microphone no longer counts as heard',
    async () => (room.activeSpeakerSiteId === 'hum' ? true : null),
    20_000,
  );
  t.same(named, ['speaker', 'hum'], 'the speaker, then the room still heard');
});

// The microphone's level: read from a real ffmpeg's print, written into RTP
// packets as the ssrc-audio-level extension that mediasoup's speaker observer reads.
import { spawn } from 'node:child_process';
import t from 'tap';
import { ingestArgs, LEVEL_FILTER, type CaptureConfig } from '../../src/media/ffmpeg/args.js';
import { audioLevelByte, parseLevelLine, withAudioLevel } from '../../src/media/rtp/audio-level.js';

const SIM: CaptureConfig = {
  hardware: 'simulated',
  videoDevice: '',
  audioDevice: '',
  width: 320,
  height: 240,
  fps: 15,
  videoCodec: 'vp8',
  videoKbps: 300,
  audioKbps: 32,
  voice: 'tone',
  videoSender: 'ffmpeg',
  gstLaunchBin: 'gst-launch-1.0',
  cameraFormat: 'mjpeg',
};
const RTP = { ip: '127.0.0.1', port: 40000, rtcpPort: 40001, ssrc: 1 };

const rtp = (payload: number[], first = 0x80, csrc: number[] = []): Buffer =>
  Buffer.from([
    first | csrc.length,
    100,
    0,
    7,
    0,
    0,
    0,
    9,
    0,
    0,
    0x12,
    0x34,
    ...csrc.flatMap((c) => [0, 0, 0, c]),
    ...payload,
  ]);

t.test('level lines and bytes', async (t) => {
  t.equal(parseLevelLine('lavfi.astats.Overall.RMS_level=-27.075733'), -27.075733);
  t.equal(parseLevelLine('lavfi.astats.Overall.RMS_level=-inf'), -Infinity, 'digital silence');
  t.equal(parseLevelLine('frame:3    pts:2880    pts_time:0.06'), null, 'frame lines are skipped');
  t.equal(parseLevelLine('lavfi.astats.Overall.RMS_level=loud'), null);
  t.equal(audioLevelByte(-27.2), 0x80 | 27, 'voice flag and -dBov');
  t.equal(audioLevelByte(-Infinity), 127, 'silence: 127, no voice');
  t.equal(audioLevelByte(-300), 127, 'clamped');
  t.equal(audioLevelByte(3), 0x80, 'above full scale reads 0 (loudest)');
});

t.test('one-byte header extension in an RTP packet', async (t) => {
  const out = withAudioLevel(rtp([1, 2, 3]), 1, 0x80 | 30)!;
  t.equal(out[0]! & 0x10, 0x10, 'X bit set');
  t.same(
    [...out.subarray(12, 20)],
    [0xbe, 0xde, 0, 1, 0x10, 0x80 | 30, 0, 0],
    'profile, one word, id 1 length 1, the level',
  );
  t.same([...out.subarray(20)], [1, 2, 3], 'payload unchanged');
  t.same([...out.subarray(1, 12)], [...rtp([1, 2, 3]).subarray(1, 12)], 'rest of the header unchanged');
  const withCsrc = withAudioLevel(rtp([9], 0x80, [5]), 1, 40)!;
  t.same([...withCsrc.subarray(16, 20)], [0xbe, 0xde, 0, 1], 'the extension goes after the CSRC list');
  const already = rtp([1], 0x90);
  t.equal(withAudioLevel(already, 1, 40), already, 'a packet with extensions passes unchanged');
  t.equal(withAudioLevel(Buffer.from([0x40, 1, 2]), 1, 40), null, 'not RTP');
  t.equal(withAudioLevel(rtp([], 0x40), 1, 40), null, 'RTP version 1 is refused');
  t.equal(withAudioLevel(rtp([], 0x80, [1, 2]).subarray(0, 14), 1, 40), null, 'truncated CSRC list');
});

t.test("ffmpeg prints the level (the ingest's own filter) of a tone and of silence", async (t) => {
  const levels = async (source: string): Promise<number[]> => {
    const ff = [
      '-hide_banner',
      '-nostdin',
      '-loglevel',
      'error',
      '-f',
      'lavfi',
      '-i',
      source,
      '-t',
      '1',
      '-filter:a',
      LEVEL_FILTER,
      '-f',
      'null',
      '-',
    ];
    const p = spawn('ffmpeg', ff, { stdio: ['ignore', 'ignore', 'inherit', 'pipe'] });
    let text = '';
    p.stdio[3]!.on('data', (d: Buffer) => {
      text += d.toString();
    });
    await new Promise((r) => p.on('close', r));
    return text
      .split('\n')
      .map(parseLevelLine)
      .filter((x): x is number => x !== null);
  };
  const tone = await levels('sine=frequency=440:sample_rate=48000');
  t.ok(tone.length >= 45, `${tone.length} levels for 1 s (20 ms each)`);
  t.ok(
    tone.every((l) => l > -30 && l < 0),
    'a tone reads as voice',
  );
  // The simulated room's voice, as the ingest builds it, rises and falls:
  // the speaker observer ignores a level that never changes.
  const args = ingestArgs(SIM, 'site-a', RTP, RTP);
  const voice = await levels(args[args.lastIndexOf('-i') + 1]!);
  const finite = voice.filter(Number.isFinite);
  t.ok(
    Math.max(...finite) - Math.min(...finite) > 20,
    `the simulated voice spans ${Math.round(Math.min(...finite))}..${Math.round(Math.max(...finite))} dBFS`,
  );
  const silence = await levels('anullsrc=r=48000:cl=mono');
  t.ok(silence.length >= 45 && silence.every((l) => l === -Infinity), 'silence reads -inf');
});

t.test('a live ffmpeg hands each level over as it measures it, not a buffer-full seconds later', async (t) => {
  // Three seconds of sound at its real pace, as a room's microphone gives it.
  // ffmpeg writes a filter's print through a 32 KB output buffer unless told
  // not to: 150 lines (about 10 KB) would then arrive in one read when ffmpeg
  // exits, and a room's level would reach the edge up to nine seconds late.
  const p = spawn(
    'ffmpeg',
    [
      '-hide_banner',
      '-nostdin',
      '-loglevel',
      'error',
      '-re',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=440:sample_rate=48000',
      '-t',
      '3',
      '-filter:a',
      LEVEL_FILTER,
      '-f',
      'null',
      '-',
    ],
    { stdio: ['ignore', 'ignore', 'inherit', 'pipe'] },
  );
  t.teardown(() => p.kill('SIGKILL'));
  const reads: number[] = [];
  p.stdio[3]!.on('data', (d: Buffer) => {
    reads.push(
      d
        .toString()
        .split('\n')
        .map(parseLevelLine)
        .filter((x) => x !== null).length,
    );
  });
  await new Promise((r) => p.on('close', r));
  const lines = reads.reduce((a, b) => a + b, 0);
  t.ok(lines >= 140, `${lines} levels for 3 s`);
  // Even an edge whose event loop stalls now and then reads the print in many pieces.
  t.ok(reads.length >= 10, `the print arrived in ${reads.length} reads (largest ${Math.max(...reads)} lines)`);
});

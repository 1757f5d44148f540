import path from 'node:path';
import t from 'tap';
import { dbfs, judgePicture, judgeSound, DBFS_FLOOR } from '../../src/devices/analysis.js';
import { ProcessRunner } from '../../src/devices/process-runner.js';
import { FRAME_H, FRAME_W, pictureArgs } from '../../src/devices/real/camera.js';
import { SAMPLE_RATE, soundArgs } from '../../src/devices/real/microphone.js';
import { makeVideo, makeWav, tempDir } from './helpers.js';

// Level and picture judgements on media the real ffmpeg generates, captured
// through the same argument builders the real camera and microphone use.

const timing = { seconds: 1, warmupSeconds: 0 };

async function capture(runner: ProcessRunner, args: string[]): Promise<Buffer> {
  return (await runner.run('ffmpeg', args, { timeoutMs: 60_000 })).stdout;
}

t.test('sound levels from WAV files at known amplitude', async (t) => {
  const dir = await tempDir(t);
  const runner = new ProcessRunner();
  t.teardown(() => runner.close());
  const judge = async (file: string) => judgeSound(await capture(runner, soundArgs(['-i', file], timing)), SAMPLE_RATE);

  const sine6 = await judge(await makeWav(path.join(dir, 's6.wav'), 'sine', -6));
  // A sine's peak is its amplitude; its RMS is 3 dB lower.
  t.ok(Math.abs(sine6.peakDbfs - -6) < 0.3, `peak ${sine6.peakDbfs} ≈ -6 dBFS`);
  t.ok(Math.abs(sine6.rmsDbfs - -9.01) < 0.3, `rms ${sine6.rmsDbfs} ≈ -9 dBFS`);
  t.equal(sine6.seconds, 1);
  t.notOk(sine6.silent);
  t.notOk(sine6.clipping);

  const sine40 = await judge(await makeWav(path.join(dir, 's40.wav'), 'sine', -40));
  t.ok(Math.abs(sine40.peakDbfs - -40) < 0.5, `quiet speech level ${sine40.peakDbfs} is measured, not called silent`);
  t.notOk(sine40.silent);

  const room = await judge(await makeWav(path.join(dir, 's65.wav'), 'sine', -65));
  t.notOk(room.silent, `a quiet room's background (${room.rmsDbfs} dBFS) is not silence`);

  const sine0 = await judge(await makeWav(path.join(dir, 's0.wav'), 'sine', 0));
  t.notOk(sine0.clipping, 'a clean sine touching full scale is not clipping');

  const silence = await judge(await makeWav(path.join(dir, 'quiet.wav'), 'silence'));
  t.equal(silence.rmsDbfs, DBFS_FLOOR);
  t.ok(silence.silent);
  t.notOk(silence.clipping);

  const clipped = await judge(await makeWav(path.join(dir, 'clip.wav'), 'clipped'));
  t.ok(clipped.clipping, `clipped ratio ${clipped.clippedRatio}`);
  t.ok(clipped.clippedRatio > 0.9);
  t.ok(clipped.peakDbfs > -0.1);
});

t.test('black, frozen and moving pictures from generated video', async (t) => {
  const dir = await tempDir(t);
  const runner = new ProcessRunner();
  t.teardown(() => runner.close());
  const judge = async (kind: 'black' | 'static' | 'moving' | 'still-room') =>
    judgePicture(await capture(runner, pictureArgs(['-i', await makeVideo(dir, kind)], timing)), FRAME_W * FRAME_H);

  const black = await judge('black');
  t.equal(black.frames, 5);
  t.ok(black.black, `mean luma ${black.meanLuma}`);
  t.notOk(black.frozen, 'black is reported as black, not also as frozen');

  const still = await judge('static');
  t.ok(still.frozen, `max frame diff ${still.maxFrameDiff}`);
  t.notOk(still.black);

  const room = await judge('still-room');
  t.notOk(room.frozen, `a live camera on an empty room is not frozen (max frame diff ${room.maxFrameDiff})`);
  t.notOk(room.black);

  const moving = await judge('moving');
  t.notOk(moving.frozen, `max frame diff ${moving.maxFrameDiff}`);
  t.notOk(moving.black);
  t.ok(moving.maxFrameDiff > 1);
});

t.test('edge cases of the pure judgements', async (t) => {
  t.same(
    judgePicture(new Uint8Array(10), 100),
    { frames: 0, meanLuma: 0, maxFrameDiff: 0, black: false, frozen: false },
    'a partial frame is no frame',
  );
  const one = judgePicture(new Uint8Array(100).fill(128), 100);
  t.notOk(one.frozen, 'one frame cannot be frozen');
  // A dark but textured room is not black.
  const dark = new Uint8Array(400);
  for (let i = 0; i < dark.length; i++) dark[i] = i % 2 ? 0 : 30;
  t.notOk(judgePicture(dark, 100).black);
  const empty = judgeSound(new Uint8Array(0), SAMPLE_RATE);
  t.equal(empty.seconds, 0);
  t.equal(empty.peakDbfs, DBFS_FLOOR);
  t.equal(dbfs(0), DBFS_FLOOR);
  t.equal(dbfs(32768), 0);
  t.equal(dbfs(16384), -6.02);
});

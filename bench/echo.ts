// Echo in a simulated room (`npm run bench:room` prints it last; `tsx bench/echo.ts`
// alone). The box's own echo canceller (PipeWire's echo-cancel module with the
// WebRTC canceller, configured by images/debian/rootfs/etc/pipewire/...) runs
// in a PipeWire server of its own, in real time; the far end's voice, played
// into the canceller's sink, comes back into the microphone through a modelled
// room (the playback delay and the loudspeaker-to-microphone path, then
// reverberation from an impulse response). The room is the same one the test
// (appliance/test/media/echo-cancel.test.ts) asserts 20 dB in; here each
// figure is printed with the microphone's (no canceller) beside it, for a few
// takes, with the load they ran under; then double talk in the same room: the
// room's voice in the middle of the far end's, each told apart by matching the
// room's voice as played (echo-room/signals.ts doubleTalkFigures()).
import os from 'node:os';
import { missingCanceller, recordRoom } from '../appliance/test/media/echo-room/room.js';
import {
  CONVERGE_SHARE,
  FAR_SECONDS,
  NEAR_SECONDS,
  ROOM,
  DOUBLE_SECONDS,
  activeSpan,
  doubleTalkFigures,
  echoFigures,
  type DoubleTalkFigures,
} from '../appliance/test/media/echo-room/signals.js';

const TAKES = Number(process.env['BENCH_ECHO_TAKES'] ?? 3);

/** dBFS of a signal over [a, b) (sample indices). */
function level(x: Float32Array, a: number, b: number): number {
  let e = 0;
  for (let i = a; i < b; i++) e += x[i]! * x[i]!;
  return 10 * Math.log10(e / Math.max(1, b - a));
}

export async function printEcho(): Promise<void> {
  console.log(
    `\n6. echo: the far end played into the box's canceller, back through a modelled room into the microphone (48 kHz):`,
  );
  const missing = missingCanceller();
  if (missing) {
    console.log(`   not measured: ${missing}`);
    return;
  }
  console.log(
    `   room: ${Math.round(ROOM.delay * 1000)} ms from the canceller's sink to the microphone, direct path ${(20 * Math.log10(ROOM.direct)).toFixed(1)} dB, ` +
      `impulse response of exponentially decaying noise, RT60 ${ROOM.rt60} s (seed ${ROOM.seed}); far end ${FAR_SECONDS} s alone ` +
      `(the first ${Math.round(CONVERGE_SHARE * 100)} % is convergence), then the room's voice ${NEAR_SECONDS} s alone`,
  );
  console.log(
    '   take  load(1m)  far end in mic  in what is sent  lower by  (converging)  room voice in mic  sent  change  heard far/room',
  );
  const doubles: Array<{ take: number; load: number; f: DoubleTalkFigures }> = [];
  for (let take = 1; take <= TAKES; take++) {
    const load = os.loadavg()[0]!;
    try {
      const r = await recordRoom(ROOM, 30_000, { doubleTalk: true });
      if (r.double) doubles.push({ take, load, f: doubleTalkFigures(r.double) });
      const f = echoFigures(r.far, r.near);
      const fs = activeSpan(r.far[0])!;
      const split = Math.round(fs[0] + (fs[1] - fs[0]) * CONVERGE_SHARE);
      const ns = activeSpan(r.near[0])!;
      const db = (x: number): string => `${x.toFixed(1)} dB`.padStart(9);
      console.log(
        `   ${String(take).padStart(4)}  ${load.toFixed(1).padStart(8)}  ${db(level(r.far[0], split, fs[1]))}FS  ${db(level(r.far[1], split, fs[1]))}FS    ${db(f.farDb)}  ${db(f.convergingDb)}      ${db(level(r.near[0], ns[0], ns[1]))}FS ${db(level(r.near[1], ns[0], ns[1]))}FS ${db(f.nearDb)}  ${f.heard.far.toFixed(2)}/${f.heard.near.toFixed(2)} s`,
      );
    } catch (err) {
      console.log(`   ${String(take).padStart(4)}  ${load.toFixed(1).padStart(8)}  failed: ${(err as Error).message}`);
    }
  }
  console.log(
    `   (without the canceller the far end is in what is sent at the microphone's level: 0 dB lower; "heard" is the voice plus its reverberation; a second longer than ${FAR_SECONDS}/${NEAR_SECONDS} s means the loaded machine made the audio graph drop sound, and the test takes again)`,
  );
  const [before, both, after] = DOUBLE_SECONDS;
  console.log(
    `   double talk, after those: the far end ${before} s alone, then the room's voice over it for ${both} s, then the far end ${after} s alone; far end lower in what is sent than in the microphone (dB), the room's voice kept (dB, 0 = untouched):`,
  );
  console.log(
    '   take  load(1m)  far alone before  far while both talk  room voice while both talk  far alone after  canceller delay',
  );
  const db = (x: number, w: number): string => `${x.toFixed(1)} dB`.padStart(w);
  for (const { take, load, f } of doubles)
    console.log(
      `   ${String(take).padStart(4)}  ${load.toFixed(1).padStart(8)}  ${db(f.beforeDb, 16)}  ${db(f.echoDb, 19)}  ${db(f.nearDb, 26)}  ${db(f.afterDb, 15)}  ${f.delayMs.toFixed(1).padStart(12)} ms`,
    );
  console.log(
    "   (while both talk, the room's voice is found in each signal by its delay and least-squares gain; what is left is counted as echo, so any cut into the room's voice counts against the canceller)",
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await printEcho();

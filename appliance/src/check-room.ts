// The installer's check of a room kit (`npm run check:room` on the box): what
// the camera, the microphone and the TV support and what the box will use,
// with the same choices the edge makes (capture/camera-formats.ts). It takes a
// real picture and a real recording through the agent's hardware checks, so a
// camera that lists 1080p but gives black frames shows up here, not in the
// first meeting. Exit code 0 when the room can hold a meeting, 1 otherwise.
import { execFileSync } from 'node:child_process';
import { pino } from 'pino';
import { chooseCameraMode, probeCamera, type CameraMode } from './media/capture/camera-formats.js';
import { findMicrophone } from './media/capture/echo-source.js';
import { chooseH264Encoder } from './media/capture/video-encoder.js';
import { EdgeConfigSchema } from './media/config.js';
import { createHardware, hardwareOptionsFromEnv } from './devices/index.js';

const WANT = { width: 1920, height: 1080, fps: 30 };

/** Whether GStreamer has an element (gst-inspect-1.0 exits 0). */
function hasElement(name: string): boolean {
  try {
    execFileSync('gst-inspect-1.0', ['--exists', name], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

const modeText = (m: CameraMode): string => `${m.fourcc} ${m.width}x${m.height} at ${m.fps} fps`;

function summarise(modes: CameraMode[]): string {
  const byFourcc = new Map<string, string[]>();
  for (const m of modes) {
    const list = byFourcc.get(m.fourcc) ?? [];
    const size = `${m.width}x${m.height}@${m.fps}`;
    if (!list.includes(size)) list.push(size);
    byFourcc.set(m.fourcc, list);
  }
  return [...byFourcc]
    .map(([f, sizes]) => `${f} ${sizes.slice(0, 6).join(', ')}${sizes.length > 6 ? ', …' : ''}`)
    .join('; ');
}

async function main(): Promise<number> {
  const env = process.env;
  const { options, problems } = hardwareOptionsFromEnv(env);
  if (problems.length > 0) {
    process.stderr.write(`check:room: invalid settings:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
    return 2;
  }
  const log = pino({ level: env['DIEMCAU_LOG_LEVEL'] ?? 'warn' });
  const hw = await createHardware({ kind: 'real', log, options });
  let ok = true;
  const say = (line: string): void => void process.stdout.write(`${line}\n`);
  try {
    say('Camera');
    const cameras = await hw.camera.list();
    if (cameras.length === 0) {
      say('  none found: plug the camera in (USB) and run this again');
      ok = false;
    }
    for (const cam of cameras) {
      const probe = await probeCamera(cam.node);
      say(
        `  ${cam.node} "${cam.name}": ${probe.error ? `cannot list its formats (${probe.error})` : summarise(probe.modes) || 'no format we can use'}`,
      );
      const choice = chooseCameraMode(probe.modes, WANT);
      if (choice.mode)
        say(`  the box will capture ${modeText(choice.mode)}${choice.exact ? '' : ` (${choice.reason})`}`);
    }
    if (cameras.length > 0) {
      const picture = await hw.camera.check();
      say(
        `  picture from ${picture.device ?? cameras[0]!.node}: ${picture.state}${picture.reason ? ` (${picture.reason.message})` : ''}`,
      );
      ok &&= picture.state === 'ok';
    }

    say('Microphone');
    const mics = await hw.microphone.list();
    if (mics.length === 0) {
      say('  none found: plug the microphone in and run this again');
      ok = false;
    } else {
      for (const m of mics) say(`  ${m.id} "${m.name}"`);
      const sound = await hw.microphone.check();
      const level = sound.measured ? `, peak ${sound.measured.peakDbfs.toFixed(0)} dBFS` : '';
      say(
        `  recording from ${sound.device ?? mics[0]!.id}: ${sound.state}${sound.reason ? ` (${sound.reason.message})` : ''}${level}`,
      );
      ok &&= sound.state === 'ok';
    }

    say('TV');
    const tv = await hw.display.check({ power: true });
    if (tv.connectors.length === 0) say('  no HDMI connector found (no DRM driver?)');
    for (const c of tv.connectors) say(`  ${c.name}: ${c.status}${c.mode ? `, ${c.mode}` : ''}`);
    say(`  ${tv.state}${tv.reason ? ` (${tv.reason.message})` : ''}`);
    ok &&= tv.state === 'ok';

    say('Encoding and sound processing');
    // The edge's own choice (capture/video-encoder.ts).
    const encoder = await chooseH264Encoder({ gstLaunchBin: 'gst-launch-1.0' });
    say(
      `  H.264 encoder: ${encoder.encoder.kind === 'vaapi' ? `the GPU's (${encoder.reason})` : `software x264, about 30 % of one core at 1080p30 (${encoder.reason})`}`,
    );
    const x264 = hasElement('x264enc');
    say(`  GStreamer x264enc: ${x264 ? 'yes' : 'MISSING (apt-get install gstreamer1.0-plugins-ugly)'}`);
    // The edge's own choice (capture/echo-source.ts), with the edge's default names.
    const echo = EdgeConfigSchema.properties;
    const mic = await findMicrophone('default', {
      source: echo.echoSource.default,
      remote: echo.pipewireRemote.default,
      pwDumpBin: echo.pwDumpBin.default,
    });
    say(
      `  WebRTC echo canceller (PipeWire ${echo.echoSource.default}): ${mic.echoCancelled ? 'yes, the room is sent without the TV' : `MISSING (${mic.reason}): the TV's sound will be sent back as echo`}`,
    );
    ok &&= x264;
  } finally {
    await hw.close();
  }
  say(ok ? 'This room can hold a meeting.' : 'This room is not ready: see above.');
  return ok ? 0 : 1;
}

process.exitCode = await main();

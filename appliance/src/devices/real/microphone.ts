import { judgeSound, type SoundThresholds } from '../analysis.js';
import type { ProcessRunner } from '../process-runner.js';
import type { Log, Microphone, MicrophoneDevice } from '../types.js';
import { captureFailure, microphoneHealth } from '../verdicts.js';
import { pipewireNodes, pipewirePcm, sourceForDevice } from './audio-server.js';
import type { CaptureTiming } from './camera.js';
import { scanAlsa, type ScanRoots } from './scan.js';

// The room microphone through ALSA: /proc/asound says which capture devices
// exist, ffmpeg records about a second as 16-bit mono PCM, and the level is
// measured in-process (see analysis.ts). When the box's audio server has the
// card (it holds the capture device while the edge records the room), the
// same microphone is recorded through the server (audio-server.ts).

export const SAMPLE_RATE = 16_000;

export interface RealMicrophoneOptions {
  roots: ScanRoots;
  ffmpeg: string;
  runner: ProcessRunner;
  log: Log;
  timing: CaptureTiming;
  thresholds: SoundThresholds;
  /** ffmpeg input arguments for a device; ALSA on a box, a file in tests. */
  input?: (device: MicrophoneDevice) => string[];
  /** The box's audio server (PipeWire socket) and the tool that lists its nodes; null: never asked. */
  audioServer: { remote: string; pwDump: string } | null;
}

const DUMP_TIMEOUT_MS = 3000;

/**
 * Records through plughw, not hw: many USB microphones are mono-only or fixed
 * at 48 kHz, and ffmpeg's ALSA input asks for stereo; plughw converts in ALSA.
 */
export const alsaInput = (d: MicrophoneDevice): string[] => ['-f', 'alsa', '-i', d.id.replace(/^hw:/, 'plughw:')];

/** Arguments that turn any ffmpeg input into `seconds` of s16le mono at 16 kHz on stdout. */
export function soundArgs(input: string[], timing: Pick<CaptureTiming, 'seconds' | 'warmupSeconds'>): string[] {
  const warm = timing.warmupSeconds > 0 ? ['-ss', String(timing.warmupSeconds)] : [];
  return [
    '-hide_banner',
    '-nostdin',
    '-loglevel',
    'error',
    ...input,
    ...warm,
    '-t',
    String(timing.seconds),
    '-vn',
    '-ac',
    '1',
    '-ar',
    String(SAMPLE_RATE),
    '-f',
    's16le',
    '-acodec',
    'pcm_s16le',
    'pipe:1',
  ];
}

export function createRealMicrophone(opts: RealMicrophoneOptions): Microphone {
  const log = opts.log.child({ device: 'microphone' });
  const raw = opts.input ?? alsaInput;
  const list = () => scanAlsa(opts.roots);
  /** Through the audio server when it has the device's card, else the device itself. */
  const input = async (d: MicrophoneDevice): Promise<string[]> => {
    const server = opts.audioServer;
    if (!server) return raw(d);
    let node: string | null = null;
    try {
      const dump = await opts.runner.run(server.pwDump, ['-N', '-r', server.remote], { timeoutMs: DUMP_TIMEOUT_MS });
      node = sourceForDevice(pipewireNodes(dump.stdout.toString()), d);
    } catch (err) {
      log.debug({ err, remote: server.remote }, 'no audio server: the microphone is opened directly');
    }
    return node ? ['-f', 'alsa', '-i', pipewirePcm(server.remote, node)] : raw(d);
  };
  return {
    list,
    async check() {
      const devices = await list();
      const first = devices[0];
      if (!first) return microphoneHealth({ devices });
      try {
        const { stdout } = await opts.runner.run(opts.ffmpeg, soundArgs(await input(first), opts.timing), {
          timeoutMs: opts.timing.timeoutMs,
          maxStdoutBytes: SAMPLE_RATE * 2 * (opts.timing.seconds + 2),
        });
        const verdict = judgeSound(stdout, SAMPLE_RATE, opts.thresholds);
        return microphoneHealth({ devices, device: first.id, verdict });
      } catch (err) {
        log.warn({ err, id: first.id }, 'microphone capture failed');
        return microphoneHealth({ devices, device: first.id, failure: captureFailure('microphone', err) });
      }
    },
  };
}

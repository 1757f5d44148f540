// A simulated room around the box's real echo canceller. One PipeWire server
// of its own (its own runtime dir, no system service), with the box's
// echo-cancel configuration from the image and WirePlumber linking it as on a
// box, plus a modelled room:
//
//   player FL (the far end) -> diemcau-aec-sink -(canceller)-> room-speaker -> convolver (delay, impulse response) -+
//   player FR (the room's voice) ----------------------------------------------------------------------> room-air <-+
//   room-air -> room-mic -> diemcau-aec-capture -(canceller)-> diemcau-aec-source
//
// A two-channel recorder takes room-mic (the room without the canceller) and
// diemcau-aec-source (what the room sends) in one stream; the edge's own
// microphone input (ffmpeg through PipeWire's ALSA plugin) records the source
// too. The far end plays alone first, then the room's voice alone; with
// `doubleTalk`, then both at once (the room's voice in the middle of the far
// end's), recorded with a third channel: the room's voice as it enters the
// air, the reference that tells it apart from the echo in the other two.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findMicrophone, type MicrophoneChoice } from '../../../src/media/capture/echo-source.js';
import { microphoneInput } from '../../../src/media/ffmpeg/args.js';
import {
  RATE,
  ROOM,
  activeSpan,
  doubleTalk,
  farVoice,
  impulseResponse,
  nearVoice,
  readWav,
  readWavChannels,
  writeWav,
  type RoomModel,
} from './signals.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
/** The box's own configuration, as the image installs it. */
export const BOX_ECHO_CONF = path.join(
  REPO,
  'images/debian/rootfs/etc/pipewire/pipewire.conf.d/60-diemcau-echo-cancel.conf',
);
export const BOX_WIREPLUMBER_CONF = path.join(REPO, 'images/debian/rootfs/etc/wireplumber/main.lua.d/51-diemcau.lua');
const ALSA_PLUGIN_CONF = '/usr/share/alsa/alsa.conf.d/50-pipewire.conf';
const BINS = ['pipewire', 'wireplumber', 'pw-link', 'pw-play', 'pw-dump', 'pw-metadata', 'ffmpeg'];
const AEC_SOURCE = 'diemcau-aec-source';

const onPath = (bin: string): boolean =>
  (process.env['PATH'] ?? '').split(':').some((d) => d && fs.existsSync(path.join(d, bin)));

/** Why the room cannot be built here (missing packages), or null. */
export function missingCanceller(): string | null {
  const missing = BINS.filter((b) => !onPath(b));
  if (!fs.existsSync(ALSA_PLUGIN_CONF)) missing.push(ALSA_PLUGIN_CONF);
  return missing.length
    ? `not installed: ${missing.join(', ')} (Debian: pipewire pipewire-bin pipewire-alsa wireplumber ffmpeg)`
    : null;
}

/** The room's own nodes: a loopback for the air in front of the microphone, a convolver for the loudspeaker. */
function roomConf(irFile: string, room: RoomModel): string {
  const mono = 'audio.rate = 48000\n      audio.channels = 1\n      audio.position = [ MONO ]';
  // The convolver's output gets a link group of its own: WirePlumber refuses a
  // link that closes a loop through the canceller's group, and in this room
  // the loop is closed by the model (on a box, by the air).
  return `context.modules = [
  { name = libpipewire-module-loopback
    args = {
      node.description = "room talk"
      audio.rate = 48000
      audio.channels = 2
      audio.position = [ FL FR ]
      capture.props = { node.name = "room-talk-in" media.class = Audio/Sink priority.session = 50 }
      playback.props = { node.name = "room-talk" node.autoconnect = false stream.dont-remix = true node.link-group = "room-talk" }
    }
  }
  { name = libpipewire-module-loopback
    args = {
      node.description = "room microphone"
      ${mono}
      capture.props = { node.name = "room-air" media.class = Audio/Sink priority.session = 100 }
      playback.props = { node.name = "room-mic" media.class = Audio/Source priority.session = 2000 }
    }
  }
  { name = libpipewire-module-filter-chain
    args = {
      node.description = "room loudspeaker"
      ${mono}
      filter.graph = {
        nodes = [
          { type = builtin name = room label = convolver
            config = { filename = "${irFile}" delay = ${Math.round(room.delay * RATE)} } }
        ]
      }
      capture.props = { node.name = "room-speaker" media.class = Audio/Sink priority.session = 2000 }
      playback.props = { node.name = "room-reflections" target.object = "room-air" node.link-group = "room-reflections" }
    }
  }
]
`;
}

interface Proc {
  child: ChildProcess;
  exited: Promise<number | null>;
  output: string[];
}

function start(bin: string, args: string[], env: NodeJS.ProcessEnv): Proc {
  const child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const keep = (b: Buffer): void => {
    output.push(b.toString());
    if (output.length > 50) output.shift();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => {
    child.on('error', () => resolve(-1));
    child.on('exit', (code) => resolve(code));
  });
  return { child, exited, output };
}

async function stop(p: Proc, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill(signal);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), 3000);
  await p.exited;
  clearTimeout(timer);
}

function run(bin: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const p = start(bin, args, env);
  return p.exited.then((code) => {
    if (code !== 0) throw new Error(`${bin} ${args.join(' ')}: exit ${code}: ${p.output.join('').trim()}`);
    return p.output.join('');
  });
}

/** `pw-link -l` as output port -> input ports. */
function parseLinks(text: string): Map<string, string[]> {
  const links = new Map<string, string[]>();
  let port = '';
  for (const line of text.split('\n')) {
    const out = /^\s+\|->\s+(.+)$/.exec(line);
    if (out) links.get(port)?.push(out[1]!.trim());
    else if (line.trim() && !/^\s+\|<-/.test(line)) {
      port = line.trim();
      if (!links.has(port)) links.set(port, []);
    }
  }
  return links;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls until `ok` holds, at most `ms`; the last state goes into the error. */
async function until<T>(what: string, ms: number, probe: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  const end = Date.now() + ms;
  let last: T | undefined;
  while (Date.now() < end) {
    last = await probe();
    if (ok(last)) return last;
    await sleep(100);
  }
  throw new Error(`${what} within ${ms} ms; last: ${JSON.stringify(last instanceof Map ? [...last] : last)}`);
}

export interface RoomRecording {
  /** The far end alone: [microphone, sent]. */
  far: [Float32Array, Float32Array];
  /** The room's voice alone: [microphone, sent]. */
  near: [Float32Array, Float32Array];
  /** Both at once (with `doubleTalk`): [microphone, sent, the room's voice as played]. */
  double: [Float32Array, Float32Array, Float32Array] | null;
  /** What the edge's own microphone input (ffmpeg) captured of the room's voice, dBFS over the sound. */
  edgeCaptureDbfs: number;
  /** The edge's choice of microphone on this server. */
  choice: MicrophoneChoice;
  /** The sink the session manager gives players (the kiosk's Chromium). */
  defaultSink: string;
  links: Map<string, string[]>;
}

const rmsDbfs = (x: Float32Array): number => {
  const span = activeSpan(x);
  if (!span) return -Infinity;
  let e = 0;
  for (let i = span[0]; i < span[1]; i++) e += x[i]! * x[i]!;
  return 10 * Math.log10(e / (span[1] - span[0]));
};

/**
 * Builds the room, plays the far end alone and then the room's voice alone,
 * records what the room sends and what its microphone heard, and takes it all
 * down. About 15 s; `timeoutMs` bounds every wait.
 */
export async function recordRoom(
  room: RoomModel = ROOM,
  timeoutMs = 30_000,
  opts: { doubleTalk?: boolean } = {},
): Promise<RoomRecording> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'echo-room-'));
  const procs: Proc[] = [];
  try {
    const runtime = path.join(dir, 'run');
    const conf = path.join(dir, 'config');
    fs.mkdirSync(runtime, { mode: 0o700 });
    fs.mkdirSync(path.join(conf, 'pipewire/pipewire.conf.d'), { recursive: true });
    fs.mkdirSync(path.join(conf, 'wireplumber/main.lua.d'), { recursive: true });
    fs.copyFileSync(BOX_ECHO_CONF, path.join(conf, 'pipewire/pipewire.conf.d', path.basename(BOX_ECHO_CONF)));
    const wp = path.join(conf, 'wireplumber/main.lua.d', path.basename(BOX_WIREPLUMBER_CONF));
    fs.copyFileSync(BOX_WIREPLUMBER_CONF, wp);
    const irFile = path.join(dir, 'room-ir.wav');
    writeWav(irFile, [impulseResponse(room)]);
    fs.writeFileSync(path.join(conf, 'pipewire/pipewire.conf.d/90-room.conf'), roomConf(irFile, room));

    const env: NodeJS.ProcessEnv = {
      ...process.env,
      XDG_RUNTIME_DIR: runtime,
      XDG_CONFIG_HOME: conf,
      XDG_STATE_HOME: path.join(dir, 'state'),
      HOME: dir,
      DISPLAY: '',
    };
    delete env['PIPEWIRE_REMOTE'];
    delete env['DBUS_SESSION_BUS_ADDRESS'];
    procs.push(start('pipewire', [], env));
    const remote = path.join(runtime, 'pipewire-0');
    await until('the audio server listens', timeoutMs, async () => fs.existsSync(remote), Boolean);
    procs.push(start('wireplumber', [], env));
    const pwLinks = async (): Promise<Map<string, string[]>> => parseLinks(await run('pw-link', ['-l'], env));
    const outPorts = async (): Promise<string[]> =>
      (await run('pw-link', ['-o'], env)).split('\n').map((l) => l.trim());
    // The session manager links the canceller to the room as it would to a box's devices.
    await until('the canceller is linked to the room', timeoutMs, pwLinks, (l) =>
      Boolean(
        l.get('room-mic:capture_MONO')?.includes('diemcau-aec-capture:input_MONO') &&
        l.get('diemcau-aec-playback:output_MONO')?.includes('room-speaker:playback_MONO'),
      ),
    );
    await until('the talk ports exist', timeoutMs, outPorts, (p) => p.includes('room-talk:output_FR'));
    await run('pw-link', ['room-talk:output_FL', 'diemcau-aec-sink:playback_MONO'], env);
    await run('pw-link', ['room-talk:output_FR', 'room-air:playback_MONO'], env);
    const defaultSink =
      /"name":"([^"]+)"/.exec(await run('pw-metadata', ['-n', 'default', '0', 'default.audio.sink'], env))?.[1] ?? '';

    // The edge's own decision, asked of this server from outside its runtime
    // dir, as the edge (another service) does.
    const choice = await findMicrophone('default', { source: AEC_SOURCE, remote, pwDumpBin: 'pw-dump' });
    const ffEnv = { ...process.env };
    delete ffEnv['XDG_RUNTIME_DIR'];

    /**
     * Plays one two-channel file (far end left, room right) and records
     * microphone and sent in step; `reference`: a third channel, the room's
     * voice as it enters the air.
     */
    const take = async (
      name: string,
      left: Float32Array,
      right: Float32Array,
      extra: { edgeFile?: string; reference?: boolean } = {},
    ) => {
      const { edgeFile, reference = false } = extra;
      const play = path.join(dir, `${name}-play.wav`);
      writeWav(play, [left, right]);
      const file = path.join(dir, `${name}.wav`);
      const rec = start(
        'pw-record',
        [
          '-P',
          `{ node.autoconnect = false node.name = room-rec-${name} }`,
          '--rate',
          '48000',
          '--channels',
          reference ? '3' : '2',
          ...(reference ? ['--channel-map', 'FL,FR,FC'] : []),
          file,
        ],
        env,
      );
      procs.push(rec);
      const lastPort = `room-rec-${name}:input_${reference ? 'FC' : 'FR'}`;
      await until(
        `the ${name} recorder has ports`,
        timeoutMs,
        async () => (await run('pw-link', ['-i'], env)).split('\n').map((l) => l.trim()),
        (p) => p.includes(lastPort),
      );
      await run('pw-link', ['room-mic:capture_MONO', `room-rec-${name}:input_FL`], env);
      await run('pw-link', [`${AEC_SOURCE}:capture_MONO`, `room-rec-${name}:input_FR`], env);
      if (reference) await run('pw-link', ['room-talk:output_FR', lastPort], env);
      const edge = edgeFile
        ? start(
            'ffmpeg',
            [
              '-nostdin',
              '-hide_banner',
              '-loglevel',
              'error',
              ...microphoneInput({ audioDevice: choice.device }),
              '-ac',
              '1',
              '-y',
              edgeFile,
            ],
            ffEnv,
          )
        : null;
      if (edge) {
        procs.push(edge);
        await until(
          'the edge input is linked',
          timeoutMs,
          pwLinks,
          (l) => (l.get(`${AEC_SOURCE}:capture_MONO`)?.length ?? 0) >= 2,
        );
      }
      // Linked by hand, like everything the test adds: the session manager's choices are the box's, not the room's.
      const player = start('pw-play', ['-P', `{ node.autoconnect = false node.name = room-play-${name} }`, play], env);
      procs.push(player);
      await until(`the ${name} player has ports`, timeoutMs, outPorts, (p) =>
        p.includes(`room-play-${name}:output_FR`),
      );
      await run('pw-link', [`room-play-${name}:output_FL`, 'room-talk-in:playback_FL'], env);
      await run('pw-link', [`room-play-${name}:output_FR`, 'room-talk-in:playback_FR'], env);
      const played = await Promise.race([player.exited, sleep(timeoutMs).then(() => 'timeout' as const)]);
      if (played === 'timeout') throw new Error(`pw-play did not finish within ${timeoutMs} ms`);
      // The room's last reverberation and the canceller's own delay, then stop (both close their files on SIGINT).
      await sleep(600);
      await Promise.all([stop(rec, 'SIGINT'), ...(edge ? [stop(edge, 'SIGINT')] : [])]);
      return readWavChannels(file);
    };
    const farVoice_ = farVoice();
    const nearVoice_ = nearVoice();
    const links = await pwLinks();
    const two = (x: Float32Array[]): [Float32Array, Float32Array] => [x[0]!, x[1]!];
    const far = two(await take('far', farVoice_, new Float32Array(farVoice_.length)));
    const edgeFile = path.join(dir, 'edge.wav');
    const near = two(
      await take('near', new Float32Array(nearVoice_.length), nearVoice_, {
        ...(choice.echoCancelled ? { edgeFile } : {}),
      }),
    );
    const edgeCaptureDbfs = choice.echoCancelled ? rmsDbfs(readWav(edgeFile)) : -Infinity;
    let double: RoomRecording['double'] = null;
    if (opts.doubleTalk) {
      const [l, r] = doubleTalk();
      const x = await take('double', l, r, { reference: true });
      double = [x[0]!, x[1]!, x[2]!];
    }
    return { far, near, double, edgeCaptureDbfs, choice, defaultSink, links };
  } finally {
    for (const p of procs.reverse()) await stop(p);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// The agent's microphone check on a box whose audio server has the card. On
// the image, PipeWire (with the echo canceller) opens the sound card, and
// while the edge records the room it holds the card's capture device: a check
// that opens `plughw:C,D` itself can only report "in use". The check records
// the same microphone through the server instead. Here a real PipeWire server
// with WirePlumber (the box's session configuration) offers a microphone node
// on card 1 (a loopback fed with a tone: this host has no sound card), the
// kernel's view of card 1 is a fixture /proc/asound, and the real ffmpeg
// records through PipeWire's ALSA plugin.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { hardwareOptionsFromEnv } from '../../src/devices/config.js';
import { createHardware } from '../../src/devices/hardware.js';
import { alsaCardDevice, pipewireNodes, sourceForDevice } from '../../src/devices/real/audio-server.js';
import { BOX_WIREPLUMBER_CONF, missingCanceller } from '../media/echo-room/room.js';
import { recordingLog, tempDir, writeTree } from './helpers.js';

const run = promisify(execFile);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const node = (name: string, props: Record<string, unknown>) => ({
  id: 1,
  type: 'PipeWire:Interface:Node',
  info: { props: { 'node.name': name, ...props } },
});

t.test("the card's microphone node, as pw-dump lists it", async (t) => {
  const dump = JSON.stringify([
    node('diemcau-aec-source', { 'media.class': 'Audio/Source' }),
    node('alsa_output.pci-0000_00_1b.0.analog-stereo', { 'media.class': 'Audio/Sink', 'alsa.card': 0 }),
    node('alsa_input.pci-0000_00_1b.0.analog-stereo', { 'media.class': 'Audio/Source', 'alsa.card': 0 }),
    node('alsa_input.usb-mic', { 'media.class': 'Audio/Source', 'api.alsa.pcm.card': '1', 'alsa.device': '0' }),
    { type: 'PipeWire:Interface:Port', info: { props: { 'node.name': 'a port' } } },
  ]);
  const nodes = pipewireNodes(dump);
  t.same(
    nodes.map((n) => n.name),
    [
      'diemcau-aec-source',
      'alsa_output.pci-0000_00_1b.0.analog-stereo',
      'alsa_input.pci-0000_00_1b.0.analog-stereo',
      'alsa_input.usb-mic',
    ],
  );
  t.equal(sourceForDevice(nodes, { id: 'hw:0,0', name: 'x' }), 'alsa_input.pci-0000_00_1b.0.analog-stereo');
  t.equal(sourceForDevice(nodes, { id: 'hw:1,0', name: 'x' }), 'alsa_input.usb-mic', 'card as a string');
  t.equal(sourceForDevice(nodes, { id: 'hw:1,2', name: 'x' }), null, 'another device of the card');
  t.equal(sourceForDevice(nodes, { id: 'hw:2,0', name: 'x' }), null, 'a card the server does not have');
  t.equal(sourceForDevice(nodes, { id: 'default', name: 'x' }), null, 'not a card');
  t.same(alsaCardDevice('plughw:3'), { card: 3, device: 0 });
  t.same(pipewireNodes('not json'), []);
  t.same(pipewireNodes('{"a":1}'), []);
});

t.test('settings: the audio server by default, none turns it off', async (t) => {
  t.equal(hardwareOptionsFromEnv({}).options.audioServer, '/run/diemcau-audio/pipewire-0');
  t.equal(hardwareOptionsFromEnv({ DIEMCAU_AUDIO_SERVER: 'none' }).options.audioServer, null);
  t.equal(hardwareOptionsFromEnv({ DIEMCAU_AUDIO_SERVER: '/run/x/pw-0' }).options.audioServer, '/run/x/pw-0');
  t.match(hardwareOptionsFromEnv({ DIEMCAU_AUDIO_SERVER: 'relative,NODE=x' }).problems.join('\n'), /AUDIO_SERVER/);
});

/** The server's microphone: a loopback whose source side says it is card 1's capture device. */
const MIC_CONF = `context.modules = [
  { name = libpipewire-module-loopback
    args = {
      node.description = "room microphone"
      audio.rate = 48000
      audio.channels = 1
      audio.position = [ MONO ]
      capture.props = { node.name = "mic-air" media.class = Audio/Sink }
      playback.props = { node.name = "alsa_input.usb-test-mic" media.class = Audio/Source alsa.card = 1 alsa.device = 0 }
    }
  }
]
`;

t.test(
  'the microphone check records through the audio server that has the card',
  {
    skip: missingCanceller() ?? false,
  },
  async (t) => {
    const dir = await tempDir(t, 'diemcau-mic-server-');
    const runtime = path.join(dir, 'run');
    fs.mkdirSync(runtime, { mode: 0o700 });
    await writeTree(dir, {
      'config/pipewire/pipewire.conf.d/90-mic.conf': MIC_CONF,
      [`config/wireplumber/main.lua.d/${path.basename(BOX_WIREPLUMBER_CONF)}`]: fs.readFileSync(
        BOX_WIREPLUMBER_CONF,
        'utf8',
      ),
      // The kernel's view: a USB microphone on card 1 (this host has no card 1).
      'proc/asound/cards': ' 1 [Device         ]: USB-Audio - USB PnP Sound Device\n',
      'proc/asound/pcm': '01-00: USB Audio : USB Audio : capture 1\n',
    });
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      XDG_RUNTIME_DIR: runtime,
      XDG_CONFIG_HOME: path.join(dir, 'config'),
      XDG_STATE_HOME: path.join(dir, 'state'),
      HOME: dir,
    };
    delete env['PIPEWIRE_REMOTE'];
    delete env['DBUS_SESSION_BUS_ADDRESS'];
    const procs: ChildProcess[] = [];
    const start = (bin: string, args: string[]): ChildProcess => {
      const child = spawn(bin, args, { env, stdio: 'ignore' });
      procs.push(child);
      return child;
    };
    t.teardown(async () => {
      for (const p of procs.reverse()) {
        if (p.exitCode !== null || p.signalCode !== null) continue;
        const exited = new Promise((r) => p.once('exit', r));
        p.kill('SIGTERM');
        const timer = setTimeout(() => p.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(timer);
      }
    });
    /** Polls `probe` every 100 ms until it holds, at most 20 s. */
    const until = async (what: string, probe: () => Promise<boolean>): Promise<void> => {
      for (const end = Date.now() + 20_000; Date.now() < end; await sleep(100)) if (await probe()) return;
      throw new Error(`${what}: not within 20 s`);
    };
    const remote = path.join(runtime, 'pipewire-0');
    start('pipewire', []);
    await until('the audio server listens', async () => fs.existsSync(remote));
    start('wireplumber', []);
    const ports = async (flag: string): Promise<string> => (await run('pw-link', [flag], { env })).stdout;
    await until('the microphone node', async () => (await ports('-o')).includes('alsa_input.usb-test-mic:'));

    // The room: a 440 Hz tone at -20 dBFS in front of the microphone, for longer than the checks take.
    const tone = path.join(dir, 'tone.wav');
    await run('ffmpeg', [
      ...['-hide_banner', '-loglevel', 'error', '-f', 'lavfi'],
      ...['-i', "aevalsrc='0.1*sin(2*PI*440*t)':s=48000:d=60", '-ac', '1', '-c:a', 'pcm_s16le', tone],
    ]);
    start('pw-play', ['-P', '{ node.autoconnect = false node.name = room-tone }', tone]);
    await until('the tone player', async () => (await ports('-o')).includes('room-tone:output_MONO'));
    await run('pw-link', ['room-tone:output_MONO', 'mic-air:playback_MONO'], { env });

    const check = async (audioServer: string | null) => {
      const hw = await createHardware({
        kind: 'real',
        log: recordingLog(),
        options: {
          roots: { sys: path.join(dir, 'sys'), proc: path.join(dir, 'proc'), dev: path.join(dir, 'dev') },
          audioServer,
          capture: { warmupSeconds: 0.3, timeoutMs: 20_000 },
        },
      });
      try {
        return await hw.microphone.check();
      } finally {
        await hw.close();
      }
    };

    const through = await check(remote);
    t.equal(through.device, 'hw:1,0', 'the microphone the kernel lists');
    t.equal(through.state, 'ok', `recorded through the server: ${JSON.stringify(through.reason ?? through.measured)}`);
    t.ok((through.measured?.rmsDbfs ?? -Infinity) > -40, `the tone heard (${through.measured?.rmsDbfs} dBFS RMS)`);

    // Opened directly (the setting off), the device is the kernel's alone: on a box, busy while the server records.
    const direct = await check(null);
    t.not(direct.state, 'ok', `opened directly: ${direct.state} (${direct.reason?.code})`);

    // A server that does not have the card: the device is opened directly.
    const elsewhere = await check(path.join(dir, 'no-such-server'));
    t.equal(elsewhere.state, direct.state, 'no server: as if opened directly');
  },
);

import path from 'node:path';
import t from 'tap';
import { createHardware } from '../../src/devices/hardware.js';
import { MemoryPins } from '../../src/devices/gpio/pins.js';
import { hardwareSuite, type World } from './hardware-suite.js';
import { makeVideo, makeWav, ManualClock, recordingLog, tempDir, writeScript, writeTree } from './helpers.js';

// The shared suite against the real implementations: the room is a fixture
// sysfs/procfs tree, the camera and microphone are media files made by
// ffmpeg and read by the real capture path, cec-client and systemctl are
// stand-in scripts, and the GPIO logic runs on memory pins.

t.test('shared suite: real hardware', async (t) => {
  const media = await tempDir(t, 'diemcau-media-');
  const videos = {
    live: await makeVideo(media, 'moving'),
    black: await makeVideo(media, 'black'),
    frozen: await makeVideo(media, 'static'),
  };
  const sounds = {
    speech: await makeWav(path.join(media, 'speech.wav'), 'sine', -20),
    muted: await makeWav(path.join(media, 'muted.wav'), 'silence'),
    clipping: await makeWav(path.join(media, 'clipping.wav'), 'clipped'),
  };

  hardwareSuite(t, async (t, world: World) => {
    const root = await tempDir(t);
    const tree: Record<string, string> = {
      'sys/class/drm/card0-HDMI-A-1/status': world.tv === 'disconnected' ? 'disconnected\n' : 'connected\n',
      'sys/class/drm/card0-HDMI-A-1/enabled': world.tv === 'disconnected' ? 'disabled\n' : 'enabled\n',
      'sys/class/drm/card0-HDMI-A-1/modes': world.tv === 'disconnected' ? '' : '1920x1080\n1280x720\n',
      tv: world.tv === 'standby' ? 'standby' : 'on',
    };
    if (world.camera !== 'absent') {
      tree['sys/class/video4linux/video0/name'] = 'USB Camera\n';
      tree['sys/class/video4linux/video0/index'] = '0\n';
    }
    if (world.microphone !== 'absent') {
      tree['proc/asound/cards'] = ' 1 [Device         ]: USB-Audio - USB PnP Sound Device\n';
      tree['proc/asound/pcm'] = '01-00: USB Audio : USB Audio : capture 1\n';
    }
    await writeTree(root, tree);
    const tvState = path.join(root, 'tv');
    const cecClient = await writeScript(
      path.join(root, 'cec-client'),
      `read cmd
case "$cmd" in
  "on 0") echo on > ${tvState} ;;
  "standby 0") echo standby > ${tvState} ;;
  "pow 0") echo "power status: $(cat ${tvState})" ;;
esac`,
    );
    const systemctl = await writeScript(path.join(root, 'systemctl'), 'exit 0');
    const pins = new MemoryPins();
    const hw = await createHardware({
      kind: 'real',
      log: recordingLog(),
      clock: new ManualClock(),
      options: {
        roots: { sys: path.join(root, 'sys'), proc: path.join(root, 'proc'), dev: path.join(root, 'dev') },
        bin: { cecClient, systemctl },
        capture: { warmupSeconds: 0 },
        pins: { led: 17, helpButton: 27, tvRelay: 22 },
      },
      real: {
        // The device node exists only in the fixture tree: feed the media file the world calls for.
        cameraInput: () => ['-i', videos[world.camera as keyof typeof videos]],
        microphoneInput: () => ['-i', sounds[world.microphone as keyof typeof sounds]],
        pins,
      },
    });
    return { hw, pressHelp: () => pins.drive(27, 1) };
  });
});

t.test('real capture from a device that cannot be opened is a fault, not a crash', async (t) => {
  const root = await tempDir(t);
  await writeTree(root, {
    'sys/class/video4linux/video0/name': 'Gone camera\n',
    'proc/asound/pcm': '00-00: Gone : Gone : capture 1\n',
  });
  const hw = await createHardware({
    kind: 'real',
    log: recordingLog(),
    options: {
      roots: { sys: path.join(root, 'sys'), proc: path.join(root, 'proc'), dev: path.join(root, 'dev') },
      capture: { warmupSeconds: 0 },
    },
  });
  t.teardown(() => hw.close());
  // /dev/video0 under the fixture root does not exist, and there is no ALSA device hw:0,0 here.
  const r = await hw.selfTest({ withHost: false });
  t.equal(r.camera.state, 'fault');
  t.equal(r.camera.reason?.code, 'open-failed');
  t.equal(r.camera.device, path.join(root, 'dev', 'video0'));
  t.equal(r.microphone.state, 'fault');
  t.equal(r.microphone.reason?.code, 'open-failed');
  t.equal(r.peripherals.gpio, 'missing', 'no pins configured on this host');
  t.match(r.microphone.reason?.message, /plughw:0,0/, 'recorded through plughw, which converts channels and rate');
});

t.test('a device held by another program is "unknown", and self-tests never race each other for it', async (t) => {
  const root = await tempDir(t);
  await writeTree(root, {
    'sys/class/video4linux/video0/name': 'USB Camera\n',
    'proc/asound/pcm': '01-00: USB Audio : USB Audio : capture 1\n',
  });
  // Stands in for ffmpeg: holds each input device while "capturing" (random
  // picture and sound) and answers "busy", as V4L2 and ALSA do, to a second
  // opener; a file under held/ makes a device look held by the media edge.
  const ffmpeg = await writeScript(
    path.join(root, 'ffmpeg'),
    `prev=""; for a in "$@"; do [ "$prev" = "-i" ] && dev="$a"; prev="$a"; done
key=$(echo "$dev" | tr '/:,' '___')
if [ -e "${root}/held/$key" ] || ! mkdir "${root}/lock-$key" 2>/dev/null; then
  echo "[v4l2 @ 0x1] $dev: Device or resource busy" >&2; echo "$dev: Input/output error" >&2; exit 1
fi
case "$*" in *rawvideo*) head -c 72000 /dev/urandom ;; *) head -c 32000 /dev/urandom ;; esac
sleep 0.2
rmdir "${root}/lock-$key"`,
  );
  const hw = await createHardware({
    kind: 'real',
    log: recordingLog(),
    options: {
      roots: { sys: path.join(root, 'sys'), proc: path.join(root, 'proc'), dev: '/dev' },
      bin: { ffmpeg, cecClient: path.join(root, 'no-cec-client') },
      capture: { warmupSeconds: 0 },
    },
  });
  t.teardown(() => hw.close());
  const results = await Promise.all([1, 2, 3].map((i) => hw.selfTest({ commandId: `c${i}`, withHost: false })));
  for (const r of results) {
    t.equal(r.camera.state, 'ok', `${r.commandId}: camera captured, not refused as busy`);
    t.equal(r.microphone.state, 'ok', `${r.commandId}: microphone captured`);
  }
  await writeTree(root, { 'held/_dev_video0': '' });
  const r = await hw.selfTest({ withHost: false });
  t.equal(r.camera.state, 'unknown', 'held by another program: health unknown, not a fault');
  t.equal(r.camera.reason?.code, 'busy');
  t.equal(r.microphone.state, 'ok');
});

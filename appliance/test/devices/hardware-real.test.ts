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
      'tv': world.tv === 'standby' ? 'standby' : 'on',
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
    options: { roots: { sys: path.join(root, 'sys'), proc: path.join(root, 'proc'), dev: path.join(root, 'dev') }, capture: { warmupSeconds: 0 } },
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
});

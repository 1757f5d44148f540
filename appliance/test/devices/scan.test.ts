import { existsSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import {
  DEFAULT_ROOTS,
  parseAsoundCards,
  parseAsoundPcm,
  parseConnector,
  scanAlsa,
  scanDrm,
  scanV4l2,
} from '../../src/devices/real/scan.js';
import { tempDir, writeTree } from './helpers.js';

// V4L2, ALSA and DRM parsing on fixture sysfs/procfs trees shaped like the
// ones a mini-PC with a USB camera, a USB microphone and an HDMI TV has.

const roots = (root: string) => ({
  sys: path.join(root, 'sys'),
  proc: path.join(root, 'proc'),
  dev: path.join(root, 'dev'),
});

t.test('a host with no camera, sound card or DRM reports none, without error', async (t) => {
  const r = roots(await tempDir(t));
  t.same(await scanV4l2(r), []);
  t.same(await scanAlsa(r), []);
  t.same(await scanDrm(r), []);
  // procfs present but the kernel has no sound cards: /proc/asound/pcm is absent
  await writeTree(r.proc, { 'asound/cards': '--- no soundcards ---\n' });
  t.same(await scanAlsa(r), []);
  // This machine's own /sys and /proc: where it has no camera or sound card
  // (a build server, a container), the real scan says none.
  const host = DEFAULT_ROOTS;
  if (!existsSync(path.join(host.sys, 'class/video4linux'))) t.same(await scanV4l2(host), [], 'no camera on this host');
  if (!existsSync(path.join(host.proc, 'asound/pcm'))) t.same(await scanAlsa(host), [], 'no sound card on this host');
  t.ok(Array.isArray(await scanDrm(host)));
});

t.test('V4L2: camera capture nodes only (no metadata, codec or ISP nodes), in natural order, named', async (t) => {
  const r = roots(await tempDir(t));
  await writeTree(r.sys, {
    'class/video4linux/video0/name': 'HD Pro Webcam C920\n',
    'class/video4linux/video0/index': '0\n',
    'class/video4linux/video1/name': 'HD Pro Webcam C920\n',
    'class/video4linux/video1/index': '1\n', // the UVC metadata node
    'class/video4linux/video10/name': 'Second camera\n',
    'class/video4linux/video10/index': '0\n',
    'class/video4linux/video2/name': 'Old driver without index\n',
    'class/video4linux/v4l-subdev0/name': 'not a video node\n',
    // a Raspberry Pi's codec and ISP nodes: present with no camera attached
    'class/video4linux/video11/name': 'bcm2835-codec-decode\n',
    'class/video4linux/video11/index': '0\n',
    'class/video4linux/video13/name': 'bcm2835-isp\n',
    'class/video4linux/video13/index': '0\n',
    'class/video4linux/video19/name': 'rpivid\n',
  });
  t.same(await scanV4l2(r), [
    { node: path.join(r.dev, 'video0'), name: 'HD Pro Webcam C920' },
    { node: path.join(r.dev, 'video2'), name: 'Old driver without index' },
    { node: path.join(r.dev, 'video10'), name: 'Second camera' },
  ]);
});

const CARDS = ` 0 [PCH            ]: HDA-Intel - HDA Intel PCH
                      HDA Intel PCH at 0xf7f10000 irq 32
 1 [Device         ]: USB-Audio - USB PnP Sound Device
                      C-Media Electronics Inc. USB PnP Sound Device at usb-0000:00:14.0-2, full speed
`;
const PCM = `00-00: ALC892 Analog : ALC892 Analog : playback 1 : capture 1
00-03: HDMI 0 : HDMI 0 : playback 1
01-00: USB Audio : USB Audio : playback 1 : capture 1
01-01: USB Mic Only : USB Mic Only : capture 1
`;

t.test('ALSA: capture PCMs from /proc/asound with card names', async (t) => {
  const cards = parseAsoundCards(CARDS);
  t.same(cards.get(0), { driver: 'HDA-Intel', name: 'HDA Intel PCH' });
  t.same(cards.get(1), { driver: 'USB-Audio', name: 'USB PnP Sound Device' });
  t.equal(cards.size, 2, 'continuation lines are not cards');
  const expected = [
    { id: 'hw:1,0', name: 'USB PnP Sound Device: USB Audio' },
    { id: 'hw:1,1', name: 'USB PnP Sound Device: USB Mic Only' },
    { id: 'hw:0,0', name: 'HDA Intel PCH: ALC892 Analog' },
  ];
  t.same(parseAsoundPcm(PCM, cards), expected, 'USB first; HDMI playback-only PCM is not a microphone');
  const r = roots(await tempDir(t));
  await writeTree(r.proc, { 'asound/cards': CARDS, 'asound/pcm': PCM });
  t.same(await scanAlsa(r), expected);
  t.same(parseAsoundPcm('00-03: HDMI 0 : HDMI 0 : playback 1\n', cards), [], 'playback only: no microphone');
  t.same(
    parseAsoundPcm('02-00: X : X : capture 1\n', cards),
    [{ id: 'hw:2,0', name: 'X' }],
    'unknown card: PCM name alone',
  );
});

t.test('DRM: HDMI connector status, enabled and preferred mode', async (t) => {
  const r = roots(await tempDir(t));
  await writeTree(r.sys, {
    'class/drm/card0/dev': '226:0\n',
    'class/drm/card0-HDMI-A-1/status': 'connected\n',
    'class/drm/card0-HDMI-A-1/enabled': 'enabled\n',
    'class/drm/card0-HDMI-A-1/modes': '1920x1080\n1280x720\n720x576\n',
    'class/drm/card0-HDMI-A-2/status': 'disconnected\n',
    'class/drm/card0-HDMI-A-2/enabled': 'disabled\n',
    'class/drm/card0-HDMI-A-2/modes': '',
    'class/drm/card0-DP-1/status': 'unknown\n',
    'class/drm/card0-eDP-1/status': 'connected\n', // a laptop panel is not the room TV
    'class/drm/renderD128/dev': '226:128\n',
  });
  t.same(await scanDrm(r), [
    { name: 'card0-DP-1', status: 'unknown', enabled: null, mode: null },
    { name: 'card0-HDMI-A-1', status: 'connected', enabled: true, mode: '1920x1080' },
    { name: 'card0-HDMI-A-2', status: 'disconnected', enabled: false, mode: null },
  ]);
  t.same(parseConnector('card1-HDMI-A-1', 'weird', null, null), {
    name: 'card1-HDMI-A-1',
    status: 'unknown',
    enabled: null,
    mode: null,
  });
});

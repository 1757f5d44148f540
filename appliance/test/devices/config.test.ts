import t from 'tap';
import { DEFAULT_HARDWARE, hardwareOptionsFromEnv, withDefaults } from '../../src/devices/config.js';
import { parseFaults } from '../../src/devices/simulated/faults.js';

t.test('defaults fit a Debian box', async (t) => {
  const { options, problems } = hardwareOptionsFromEnv({});
  t.same(problems, []);
  t.same(options, DEFAULT_HARDWARE);
  t.equal(options.roots.sys, '/sys');
  t.equal(options.pins.led, null, 'no GPIO assumed');
});

t.test('every host path and pin can be set from the environment', async (t) => {
  const { options, problems } = hardwareOptionsFromEnv({
    DIEMCAU_SYSFS_ROOT: '/fixture/sys',
    DIEMCAU_PROCFS_ROOT: '/fixture/proc',
    DIEMCAU_DEV_ROOT: '/fixture/dev',
    DIEMCAU_FFMPEG_BIN: '/opt/ffmpeg',
    DIEMCAU_CEC_CLIENT: '/opt/cec-client',
    DIEMCAU_GPIO_LED: '17',
    DIEMCAU_GPIO_HELP_BUTTON: '27',
    DIEMCAU_GPIO_TV_RELAY: 'none',
    DIEMCAU_GPIO_RELAY_ACTIVE_LOW: 'yes',
    DIEMCAU_CAPTURE_SECONDS: '2',
    DIEMCAU_MIC_SILENCE_DBFS: '-65',
    DIEMCAU_SIM_FAULTS: 'camera-black, mic-muted',
  });
  t.same(problems, []);
  t.same(options.roots, { sys: '/fixture/sys', proc: '/fixture/proc', dev: '/fixture/dev' });
  t.equal(options.bin.ffmpeg, '/opt/ffmpeg');
  t.equal(options.bin.systemctl, 'systemctl', 'unset stays default');
  t.same([options.pins.led, options.pins.helpButton, options.pins.tvRelay], [17, 27, null]);
  t.equal(options.pins.relayActiveLow, true);
  t.equal(options.capture.seconds, 2);
  t.equal(options.sound.silenceDbfs, -65);
  t.equal(options.sound.clippedRatio, DEFAULT_HARDWARE.sound.clippedRatio);
  t.equal(options.capture.warmupSeconds, DEFAULT_HARDWARE.capture.warmupSeconds);
  t.same(options.simulated.faults, ['camera-black', 'mic-muted']);
});

t.test('every problem is listed at once', async (t) => {
  const { problems } = hardwareOptionsFromEnv({
    DIEMCAU_GPIO_LED: 'seventeen',
    DIEMCAU_CAPTURE_SECONDS: '99',
    DIEMCAU_GPIO_LED_ACTIVE_LOW: 'maybe',
    DIEMCAU_SIM_FAULTS: 'camera-black,camera-on-fire',
  });
  t.equal(problems.length, 4);
  t.match(problems.join('\n'), /gpioLed \(DIEMCAU_GPIO_LED\): must be one of an integer, "none"/);
  t.match(problems.join('\n'), /camera-on-fire/);
});

t.test('withDefaults does not share arrays with the defaults', async (t) => {
  const a = withDefaults();
  a.simulated.faults.push('tv-off');
  t.same(DEFAULT_HARDWARE.simulated.faults, []);
  t.same(parseFaults(' , tv-off,,'), { faults: ['tv-off'], problems: [] });
});

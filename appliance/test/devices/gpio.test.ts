import t from 'tap';
import type { HelpRequestedEvent } from '@diemcau/shared';
import { DEFAULT_PINS, createGpio, type GpioPins } from '../../src/devices/gpio/gpio.js';
import { LedPlayer, PATTERNS, statusPattern, type AgentStatus } from '../../src/devices/gpio/led.js';
import { createOnoffPins, unavailablePins } from '../../src/devices/gpio/onoff-pins.js';
import { MemoryPins, type Level, type PinFactory } from '../../src/devices/gpio/pins.js';
import { ManualClock, recordingLog } from './helpers.js';

// GPIO logic through its pin interface, with a clock stepped by hand: which
// levels the LED shows and when, what the button and the relay do.

const PINS: GpioPins = {
  ...DEFAULT_PINS,
  led: 17,
  helpButton: 27,
  tvRelay: 22,
  helpCooldownMs: 30_000,
  relayOffMs: 5_000,
};

function setup(pins: GpioPins = PINS) {
  const clock = new ManualClock();
  const memory = new MemoryPins();
  const log = recordingLog();
  const gpio = createGpio({ pins, factory: memory, clock, log, source: 'button' });
  return { clock, memory, log, gpio, led: () => memory.outputs.get(17)!, relay: () => memory.outputs.get(22)! };
}

/** The LED's level at each of the given instants, stepping the clock between them. */
function sample(clock: ManualClock, read: () => Level, at: number[]): Level[] {
  const out: Level[] = [];
  let now = 0;
  for (const t of at) {
    clock.advance(t - now);
    now = t;
    out.push(read());
  }
  return out;
}

t.test('LED patterns: steady, slow blink, double blink', async (t) => {
  const clock = new ManualClock();
  let level: Level = 0;
  const led = new LedPlayer((v) => (level = v), clock);
  led.set('online');
  t.equal(level, 1);
  t.equal(clock.pending(), 0, 'a steady light needs no timer');
  led.set('enrolling'); // 500 on, 500 off
  t.same(
    sample(clock, () => level, [0, 499, 500, 999, 1000, 1500]),
    [1, 1, 0, 0, 1, 0],
  );
  const c2 = new ManualClock();
  const led2 = new LedPlayer((v) => (level = v), c2);
  led2.set('error'); // 150 on, 150 off, 150 on, 1050 off
  t.same(
    sample(c2, () => level, [0, 160, 310, 460, 1400, 1500]),
    [1, 0, 1, 0, 0, 1],
  );
  led.close();
  led2.close();
  t.equal(clock.pending() + c2.pending(), 0, 'close stops every timer');
});

t.test('every pattern is distinct and well-formed', async (t) => {
  const seen = new Set<string>();
  for (const [name, steps] of Object.entries(PATTERNS)) {
    t.ok(steps.length === 1 || steps.every(([, ms]) => ms > 0), `${name}: blinking steps have durations`);
    seen.add(JSON.stringify(steps));
  }
  t.equal(seen.size, Object.keys(PATTERNS).length);
});

t.test('a flash overlays the base pattern and then resumes it, even if the base changed meanwhile', async (t) => {
  const { clock, gpio, led } = setup();
  gpio.setLed('online');
  t.equal(led().value, 1);
  gpio.flashLed('identify', 15_000);
  t.equal(gpio.health().led, 'identify');
  gpio.setLed('offline'); // link dropped during identify
  t.equal(gpio.health().led, 'identify', 'the flash keeps the LED');
  clock.advance(15_000);
  t.equal(gpio.health().led, 'offline', 'the newest base shows after the flash');
  await gpio.close();
  t.equal(led().value, 0, 'LED off after close');
  t.ok(led().closed);
});

t.test('help button: one event per press, presses in the cooldown are one request', async (t) => {
  const { clock, memory, gpio } = setup();
  const events: HelpRequestedEvent[] = [];
  gpio.onHelp((e) => events.push(e));
  gpio.onHelp(() => {
    throw new Error('a broken listener');
  });
  memory.drive(27, 1);
  memory.drive(27, 0); // release is not a press
  t.equal(events.length, 1);
  t.equal(events[0]!.kind, 'help-requested');
  t.equal(events[0]!.source, 'button');
  t.equal(gpio.health().led, 'identify', 'the LED acknowledges the press');
  clock.advance(10_000);
  memory.drive(27, 1);
  t.equal(events.length, 1, 'pressed again after 10 s: same request');
  clock.advance(30_000);
  memory.drive(27, 1);
  t.equal(events.length, 2, 'after the cooldown: a new request');
  t.not(events[0]!.id, events[1]!.id);
  await gpio.close();
  memory.drive(27, 1);
  t.equal(events.length, 2, 'nothing after close');
});

t.test('relay power-cycles the TV once, even when asked twice; close leaves the TV powered', async (t) => {
  const { clock, gpio, relay } = setup();
  t.equal(relay().value, 1, 'TV powered at start');
  const a = gpio.powerCycleTv();
  const b = gpio.powerCycleTv();
  t.equal(relay().value, 0, 'mains cut');
  clock.advance(5_000);
  t.same(await Promise.all([a, b]), ['done', 'done']);
  t.same(relay().writes, [1, 0, 1], 'one off-on cycle');
  const c = gpio.powerCycleTv();
  await gpio.close(); // mid-cycle
  t.equal(relay().value, 1, 'never left without mains');
  clock.advance(5_000);
  await c;
});

t.test('no relay wired: power cycle is unsupported', async (t) => {
  const { gpio } = setup({ ...PINS, tvRelay: null });
  t.equal(await gpio.powerCycleTv(), 'unsupported');
  t.same(gpio.health(), { state: 'ok', led: 'off', helpButton: true, tvRelay: false });
});

t.test('no GPIO on the host: said once, then every call is a quiet no-op', async (t) => {
  const log = recordingLog();
  const gpio = createGpio({
    pins: PINS,
    factory: unavailablePins('host has no GPIO'),
    clock: new ManualClock(),
    log,
    source: 'button',
  });
  gpio.setLed('online');
  gpio.flashLed('identify', 1000);
  t.equal(await gpio.powerCycleTv(), 'unsupported');
  t.notOk(gpio.available);
  const h = gpio.health();
  t.equal(h.state, 'missing');
  t.equal(h.reason?.code, 'unavailable');
  gpio.health();
  t.equal(log.entries.filter((e) => e.msg?.startsWith('GPIO unavailable')).length, 1, 'logged exactly once');
  await gpio.close();
  await gpio.close();
});

t.test('no pins configured counts as no GPIO', async (t) => {
  const log = recordingLog();
  const gpio = createGpio({
    pins: DEFAULT_PINS,
    factory: new MemoryPins(),
    clock: new ManualClock(),
    log,
    source: 'button',
  });
  t.equal(gpio.health().reason?.message, 'no GPIO pins configured');
});

t.test('onoff on this host: available only where /sys/class/gpio and its native binding exist', async (t) => {
  const pins = await createOnoffPins();
  if (pins.available) t.pass('this host has GPIO');
  else t.match(pins.why, /onoff cannot load|no accessible GPIO/, `unavailable: ${pins.why}`);
  if (!pins.available) t.throws(() => pins.output(1, { activeLow: false, initial: 0 }));
});

t.test('status pattern: the most urgent state wins', async (t) => {
  const base: AgentStatus = { phase: 'online', updating: false, failed: false, roomReady: true };
  t.equal(statusPattern(base), 'online');
  t.equal(statusPattern({ ...base, roomReady: false }), 'error', 'online but the room is not ready');
  t.equal(statusPattern({ ...base, phase: 'offline' }), 'offline');
  t.equal(
    statusPattern({ ...base, phase: 'connecting', roomReady: false }),
    'offline',
    'the link first: the room is checked once online',
  );
  t.equal(statusPattern({ ...base, phase: 'enrolling' }), 'enrolling');
  t.equal(statusPattern({ ...base, phase: 'offline', updating: true }), 'updating');
  t.equal(statusPattern({ ...base, updating: true, failed: true }), 'error');
  t.equal(statusPattern({ ...base, notice: true }), 'notice', 'a failed update on a box that works: a notice');
  t.equal(statusPattern({ ...base, notice: true, roomReady: false }), 'error', 'the room first');
  t.equal(statusPattern({ ...base, notice: true, phase: 'offline' }), 'offline', 'the link first');
});

t.test('a wired pin that cannot be opened is a fault; a failing LED never throws from its timer', async (t) => {
  const clock = new ManualClock();
  const memory = new MemoryPins();
  const flaky: PinFactory = {
    available: true,
    output: (pin, o) => {
      if (pin === 22) throw new Error('EACCES: permission denied, open /sys/class/gpio/export');
      const p = memory.output(pin, o);
      return {
        write: () => {
          throw new Error('EIO');
        },
        close: p.close,
      };
    },
    input: (pin) => memory.input(pin),
  };
  const log = recordingLog();
  const gpio = createGpio({ pins: PINS, factory: flaky, clock, log, source: 'button' });
  const h = gpio.health();
  t.equal(h.state, 'fault');
  t.equal(h.reason?.code, 'open-failed');
  t.match(h.reason?.message, /relay: EACCES/);
  t.equal(h.tvRelay, false);
  gpio.setLed('updating');
  clock.advance(10_000); // many blink steps, each write throws inside a timer
  t.equal(log.entries.filter((e) => e.msg === 'status LED write failed').length, 1);
  await gpio.close();
});

// The image tests name the status LED's pattern from a sample of its line
// (images/test/led.ts): every pattern the agent can show as a state must be
// told apart from the others that way, played by the agent's own LED player
// on a manual clock and sampled every 10 ms for 6 s, as inside the VM, also
// when a loaded host stretches the timers by half.
import t from 'tap';
import type { LedPatternName } from '@diemcau/shared';
import { LedPlayer, PATTERNS } from '../../appliance/src/devices/gpio/led.js';
import type { Clock } from '../../appliance/src/devices/gpio/pins.js';
import { namePattern, type LedSample } from './led.js';

/** Timers run in order as the sampler's time passes; `stretch` makes each last longer, as on a busy host. */
function sample(pattern: LedPatternName, stretch: number, ms = 6000): LedSample {
  let now = 0;
  const timers: Array<{ at: number; fn: () => void; id: number }> = [];
  let nextId = 0;
  let level = 0;
  const clock: Clock = {
    now: () => now,
    setTimeout: (fn: () => void, delay: number) => {
      const id = nextId++;
      timers.push({ at: now + delay * stretch, fn, id });
      return id;
    },
    clearTimeout: (id: unknown) => {
      const i = timers.findIndex((x) => x.id === id);
      if (i >= 0) timers.splice(i, 1);
    },
  };
  const player = new LedPlayer((v) => (level = v), clock);
  player.set(pattern);
  let n = 0;
  let lit = 0;
  let rises = 0;
  let last: number | null = null;
  for (now = 0; now < ms; now += 10) {
    for (;;) {
      timers.sort((a, b) => a.at - b.at);
      const due = timers[0];
      if (!due || due.at > now) break;
      timers.shift();
      due.fn();
    }
    n++;
    if (level === 1) lit++;
    if (last === 0 && level === 1) rises++;
    last = level;
  }
  player.close();
  return { ms, n, lit: lit / n, rises };
}

const STATES = (Object.keys(PATTERNS) as LedPatternName[]).filter((p) => p !== 'identify');

t.test('each state pattern is named right from a sample of the line', async (t) => {
  for (const stretch of [1, 1.5])
    for (const p of STATES) t.equal(namePattern(sample(p, stretch)), p, `${p}, timers stretched ×${stretch}`);
});

t.test('the notice of a failed update is not the error rhythm', async (t) => {
  t.not(namePattern(sample('notice', 1)), 'error');
  t.not(namePattern(sample('error', 1)), 'notice');
});

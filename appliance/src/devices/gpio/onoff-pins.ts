import type { PinFactory, InputPin, OutputPin, Level } from './pins.js';

// Real pins through onoff (sysfs GPIO). onoff needs its native epoll
// binding; a host without it, or without /sys/class/gpio (any x86 mini-PC),
// gets a factory that says why it is unavailable instead of a crash.

type OnoffGpio = import('onoff').Gpio;
type OnoffModule = { Gpio: typeof import('onoff').Gpio };

async function loadOnoff(): Promise<OnoffModule | string> {
  try {
    const mod = (await import('onoff')) as unknown as OnoffModule & { default?: OnoffModule };
    return mod.Gpio ? mod : (mod.default ?? 'onoff exports no Gpio');
  } catch (err) {
    return `onoff cannot load (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`;
  }
}

export async function createOnoffPins(): Promise<PinFactory> {
  const onoff = await loadOnoff();
  if (typeof onoff === 'string') return unavailablePins(onoff);
  if (!onoff.Gpio.accessible) return unavailablePins('host has no accessible GPIO (/sys/class/gpio)');
  const { Gpio } = onoff;
  return {
    available: true,
    output(pin, { activeLow, initial }): OutputPin {
      // 'high'/'low' set the level glitch-free at export (a relay must not click at start);
      // the kernel applies them as raw levels, so active-low is folded in here.
      const g: OnoffGpio = new Gpio(pin, (initial === 1) !== activeLow ? 'high' : 'low', 'none', { activeLow });
      return { write: (v: Level) => g.writeSync(v), close: () => g.unexport() };
    },
    input(pin, { activeLow, debounceMs }): InputPin {
      const g: OnoffGpio = new Gpio(pin, 'in', 'both', { activeLow, debounceTimeout: debounceMs });
      return {
        watch: (l) => g.watch((err, value) => void (err ? undefined : l(value))),
        close: () => {
          g.unwatchAll();
          g.unexport();
        },
      };
    },
  };
}

export function unavailablePins(why: string): PinFactory {
  const no = (): never => {
    throw new Error(why);
  };
  return { available: false, why, output: no, input: no };
}

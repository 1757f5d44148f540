import { randomUUID } from 'node:crypto';
import type { GpioHealth, HelpRequestedEvent, LedPatternName } from '@diemcau/shared';
import type { Gpio, Log } from '../types.js';
import { LedPlayer } from './led.js';
import type { Clock, InputPin, Level, OutputPin, PinFactory } from './pins.js';

// The GPIO logic, the same over onoff and over memory pins: the status LED,
// the "call the province" button, and the relay that cuts the TV's mains.
// Where the host has no GPIO (or none is wired) it says so once and every
// call becomes a no-op, so the agent runs the same on any mini-PC.

export interface GpioPins {
  led: number | null;
  helpButton: number | null;
  tvRelay: number | null;
  ledActiveLow: boolean;
  buttonActiveLow: boolean;
  relayActiveLow: boolean;
  buttonDebounceMs: number;
  /** Presses closer together than this are one request: people press twice when nothing seems to happen. */
  helpCooldownMs: number;
  /** How long the relay keeps the TV without mains when power-cycling it. */
  relayOffMs: number;
}

export const DEFAULT_PINS: GpioPins = {
  led: null,
  helpButton: null,
  tvRelay: null,
  ledActiveLow: false,
  buttonActiveLow: true,
  relayActiveLow: false,
  buttonDebounceMs: 50,
  helpCooldownMs: 30_000,
  relayOffMs: 5_000,
};

export function createGpio(opts: {
  pins: GpioPins;
  factory: PinFactory;
  clock: Clock;
  log: Log;
  source: HelpRequestedEvent['source'];
}): Gpio {
  const { pins, factory, clock } = opts;
  const log = opts.log.child({ device: 'gpio' });
  const anyPin = pins.led !== null || pins.helpButton !== null || pins.tvRelay !== null;
  // Asked on every call: the simulator can take GPIO away at runtime. Said
  // once in the log; every later call is a silent no-op.
  let told = false;
  const unavailable = (): string | null => {
    const why = !anyPin ? 'no GPIO pins configured' : !factory.available ? (factory.why ?? 'host has no GPIO') : null;
    if (why && !told) log.info({ why }, 'GPIO unavailable: no status LED, help button or TV relay');
    told ||= why !== null;
    return why;
  };

  const listeners = new Set<(e: HelpRequestedEvent) => void>();
  let led: LedPlayer | null = null;
  let ledPin: OutputPin | null = null;
  let relay: OutputPin | null = null;
  let button: InputPin | null = null;
  let lastHelp = -Infinity;
  let cycling: Promise<'done'> | null = null;
  let closed = false;

  // Pins that are wired but could not be opened (no permission, taken by another driver).
  const failed: string[] = [];
  const open = <T>(what: string, fn: () => T): T | null => {
    try {
      return fn();
    } catch (err) {
      failed.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
      log.warn({ err, what }, 'cannot open GPIO pin; carrying on without it');
      return null;
    }
  };
  // The LED is written from timers: a write that throws there would take the agent down.
  let ledWriteFailed = false;
  const writeLed = (v: Level) => {
    try {
      ledPin?.write(v);
    } catch (err) {
      if (!ledWriteFailed) log.warn({ err }, 'status LED write failed');
      ledWriteFailed = true;
    }
  };

  if (unavailable() === null) {
    if (pins.led !== null) {
      const n = pins.led;
      ledPin = open('led', () => factory.output(n, { activeLow: pins.ledActiveLow, initial: 0 }));
      if (ledPin) led = new LedPlayer(writeLed, clock);
    }
    if (pins.tvRelay !== null) {
      const n = pins.tvRelay;
      relay = open('relay', () => factory.output(n, { activeLow: pins.relayActiveLow, initial: 1 }));
    }
    if (pins.helpButton !== null) {
      const n = pins.helpButton;
      button = open('help button', () =>
        factory.input(n, { activeLow: pins.buttonActiveLow, debounceMs: pins.buttonDebounceMs }),
      );
      button?.watch((v) => onButton(v));
    }
  }

  function onButton(value: Level): void {
    if (value !== 1 || closed || unavailable()) return;
    const now = clock.now();
    if (now - lastHelp < pins.helpCooldownMs) return;
    lastHelp = now;
    const event: HelpRequestedEvent = {
      v: 1,
      kind: 'help-requested',
      id: randomUUID(),
      at: new Date(now).toISOString(),
      source: opts.source,
    };
    log.info({ id: event.id }, 'help button pressed');
    led?.flash('identify', 3_000); // the person who pressed sees that it worked
    for (const l of listeners) {
      try {
        l(event);
      } catch (err) {
        log.error({ err }, 'help listener threw');
      }
    }
  }

  const sleep = (ms: number) => new Promise<void>((r) => clock.setTimeout(r, ms));

  return {
    get available() {
      return unavailable() === null && !closed;
    },
    setLed: (p: LedPatternName) => void (unavailable() === null && led?.set(p)),
    flashLed: (p: LedPatternName, ms: number) => void (unavailable() === null && led?.flash(p, ms)),
    async powerCycleTv() {
      if (!relay || closed || unavailable()) return 'unsupported';
      // Two requests at once are one power cycle, not an off-on-off-on flicker.
      cycling ??= (async () => {
        log.info({ offMs: pins.relayOffMs }, 'power-cycling the TV through its relay');
        try {
          relay.write(0);
          await sleep(pins.relayOffMs);
          if (!closed) relay.write(1);
          return 'done' as const;
        } finally {
          cycling = null; // a failed cycle must not block the next attempt
        }
      })();
      return cycling;
    },
    onHelp(l) {
      listeners.add(l);
      return () => void listeners.delete(l);
    },
    health(): GpioHealth {
      const base = { led: led?.pattern ?? 'off', helpButton: button !== null, tvRelay: relay !== null };
      const why = unavailable();
      if (why) return { ...base, state: 'missing', reason: { code: 'unavailable', message: why } };
      if (failed.length > 0)
        return { ...base, state: 'fault', reason: { code: 'open-failed', message: failed.join('; ').slice(0, 500) } };
      return { ...base, state: 'ok' };
    },
    /** Leaves the relay closed (TV powered) and the LED off. */
    async close() {
      if (closed) return;
      closed = true;
      led?.close();
      writeLed(0);
      try {
        relay?.write(1); // even mid power-cycle: never leave the TV without mains
      } catch (err) {
        log.warn({ err }, 'cannot close the TV relay');
      }
      for (const pin of [ledPin, relay, button]) {
        try {
          pin?.close();
        } catch (err) {
          log.warn({ err }, 'cannot release GPIO pin');
        }
      }
      listeners.clear();
    },
  };
}

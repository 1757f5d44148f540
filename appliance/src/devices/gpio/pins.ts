// The pin abstraction the GPIO logic runs on: onoff on a box, memory pins in
// the simulator and tests. Values are logical (1 = LED lit, button pressed,
// relay closed); active-low wiring is the factory's business.

export type Level = 0 | 1;

export interface OutputPin {
  write(value: Level): void;
  close(): void;
}

export interface InputPin {
  /** Calls back on every debounced change of the logical value. */
  watch(listener: (value: Level) => void): void;
  close(): void;
}

export interface PinFactory {
  /** False where the host has no GPIO; `why` says what is missing. */
  readonly available: boolean;
  readonly why?: string;
  output(pin: number, opts: { activeLow: boolean; initial: Level }): OutputPin;
  input(pin: number, opts: { activeLow: boolean; debounceMs: number }): InputPin;
}

/** Timers behind an interface, so pattern sequencing is tested step by step without waiting. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    // A blinking LED must not keep the agent alive on shutdown.
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** Memory pins: what the simulator drives and tests inspect. */
export class MemoryPins implements PinFactory {
  available = true;
  why?: string;
  readonly outputs = new Map<number, { value: Level; writes: Level[]; closed: boolean }>();
  private readonly inputs = new Map<number, Set<(v: Level) => void>>();

  output(pin: number, opts: { initial: Level }): OutputPin {
    const state = { value: opts.initial, writes: [opts.initial] as Level[], closed: false };
    this.outputs.set(pin, state);
    return {
      write: (v) => {
        state.value = v;
        state.writes.push(v);
      },
      close: () => {
        state.closed = true;
      },
    };
  }

  input(pin: number): InputPin {
    const listeners = new Set<(v: Level) => void>();
    this.inputs.set(pin, listeners);
    return { watch: (l) => void listeners.add(l), close: () => listeners.clear() };
  }

  /** Drives an input as the outside world would (a finger on the help button). */
  drive(pin: number, value: Level): void {
    for (const l of this.inputs.get(pin) ?? []) l(value);
  }
}

// Faults the simulator and the tests inject into simulated hardware at
// runtime. Each is a state (set until cleared), except pressing the help
// button, which is an action. Names are what the simulator's CLI accepts.

export const FAULTS = [
  'camera-unplugged',
  'camera-black',
  'camera-frozen',
  'mic-unplugged',
  'mic-muted',
  'mic-clipping',
  'tv-off',
  'tv-disconnected',
  'gpio-absent',
] as const;
export type FaultName = (typeof FAULTS)[number];

export const isFault = (s: string): s is FaultName => (FAULTS as readonly string[]).includes(s);

export interface FaultInjector {
  inject(fault: FaultName): void;
  /** Clears one fault, or all of them. */
  clear(fault?: FaultName): void;
  has(fault: FaultName): boolean;
  active(): FaultName[];
  /** Presses the "call the province" button once (nothing happens while GPIO is absent). */
  pressHelpButton(): void;
  /** Called after every change, so the agent can report at once instead of at its next poll. */
  onChange(listener: () => void): () => void;
}

/** "camera-black, mic-muted" → faults, with every unknown name listed as a problem. */
export function parseFaults(text: string): { faults: FaultName[]; problems: string[] } {
  const faults: FaultName[] = [];
  const problems: string[] = [];
  for (const raw of text.split(',')) {
    const name = raw.trim();
    if (name === '') continue;
    if (isFault(name)) faults.push(name);
    else problems.push(`unknown fault ${JSON.stringify(name)} (known: ${FAULTS.join(', ')})`);
  }
  return { faults, problems };
}

export class FaultSet implements FaultInjector {
  private readonly set = new Set<FaultName>();
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly press: () => void,
    initial: readonly FaultName[] = [],
  ) {
    for (const f of initial) this.set.add(f);
  }

  inject(fault: FaultName): void {
    if (this.set.has(fault)) return;
    this.set.add(fault);
    this.changed();
  }

  clear(fault?: FaultName): void {
    const before = this.set.size;
    if (fault) this.set.delete(fault);
    else this.set.clear();
    if (this.set.size !== before) this.changed();
  }

  has(fault: FaultName): boolean {
    return this.set.has(fault);
  }

  active(): FaultName[] {
    return FAULTS.filter((f) => this.set.has(f));
  }

  pressHelpButton(): void {
    this.press();
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  private changed(): void {
    for (const l of this.listeners) {
      try {
        l();
      } catch {
        // A listener's bug must not stop the fault from being set.
      }
    }
  }
}

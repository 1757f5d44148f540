// The alert sound. Browsers keep a page's audio suspended until someone
// clicks on it (autoplay policy), and a wall screen may run for days after a
// reload nobody saw: so the chime says whether it can play, and the wall shows
// a banner until someone has enabled it with a click.

type Listener = () => void;

export class Chime {
  private ctx: AudioContext | null = null;
  private readonly listeners = new Set<Listener>();
  /** Chimes played since the page loaded (the wall shows it for tests and curious operators). */
  played = 0;

  constructor() {
    try {
      this.ctx = new AudioContext();
      this.ctx.addEventListener('statechange', () => this.notify());
    } catch {
      this.ctx = null; /* no audio device: the badge and the wall still show alerts */
    }
  }

  /** True when a chime would be heard now; false while the browser blocks sound or there is no audio. */
  get audible(): boolean {
    return this.ctx?.state === 'running';
  }
  get available(): boolean {
    return this.ctx !== null;
  }

  /** Must run inside a click handler: that click is what lets the page make sound. */
  async unlock(): Promise<void> {
    if (!this.ctx) return;
    try {
      await this.ctx.resume();
    } catch {
      /* still blocked: the banner stays */
    }
    this.notify();
  }

  /** A short two-tone chime; does nothing while sound is blocked. */
  play(): void {
    const ctx = this.ctx;
    if (!ctx || ctx.state !== 'running') return;
    [880, 660].forEach((f, i) => {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      const at = ctx.currentTime + i * 0.18;
      osc.frequency.value = f;
      gain.gain.setValueAtTime(0.15, at);
      gain.gain.exponentialRampToValueAtTime(0.001, at + 0.16);
      osc.connect(gain).connect(ctx.destination);
      osc.start(at);
      osc.stop(at + 0.17);
    });
    this.played++;
    this.notify();
  }

  subscribe(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  close(): void {
    this.listeners.clear();
    void this.ctx?.close().catch(() => {});
    this.ctx = null;
  }

  private notify(): void {
    for (const fn of this.listeners) fn();
  }
}

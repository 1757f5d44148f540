import type { Peripherals, PeripheralsReport } from '@diemcau/shared';
import { systemClock, type Clock } from './gpio/pins.js';
import type { Hardware, Log } from './types.js';
import { changedPeripherals } from './verdicts.js';

// Watches the cheap peripheral states (enumeration, HDMI connector) and calls
// onReport with a 'peripherals' health message on the first poll and on every
// change, which the agent publishes on the device's 'health' channel. With
// simulated hardware an injected fault triggers a poll at once.

export interface HealthMonitor {
  /** Polls now; resolves with the report if something changed, else null. */
  poll(): Promise<PeripheralsReport | null>;
  /** The last states seen (null before the first poll). */
  current(): Peripherals | null;
  close(): void;
}

export function createHealthMonitor(opts: {
  hardware: Hardware;
  intervalMs: number;
  log: Log;
  onReport: (report: PeripheralsReport) => void;
  clock?: Clock;
}): HealthMonitor {
  const clock = opts.clock ?? systemClock;
  const log = opts.log.child({ part: 'health-monitor' });
  let prev: Peripherals | null = null;
  let prevReasons = '';
  let timer: unknown = null;
  let running: Promise<PeripheralsReport | null> | null = null;
  let queued: Promise<PeripheralsReport | null> | null = null;
  let closed = false;

  const once = async (): Promise<PeripheralsReport | null> => {
    const snap = await opts.hardware.peripherals();
    const reasons = JSON.stringify(snap.reasons);
    const changed = changedPeripherals(prev, snap.peripherals);
    if (changed.length === 0 && reasons === prevReasons) return null;
    prev = snap.peripherals;
    prevReasons = reasons;
    const report: PeripheralsReport = {
      v: 1,
      kind: 'peripherals',
      at: new Date(clock.now()).toISOString(),
      hardware: opts.hardware.kind,
      peripherals: snap.peripherals,
      reasons: snap.reasons,
    };
    log.info({ changed, peripherals: snap.peripherals }, 'peripherals changed');
    try {
      opts.onReport(report);
    } catch (err) {
      log.error({ err }, 'health report listener threw');
    }
    return report;
  };

  // One poll at a time. A request during a poll is answered by one more poll
  // right after it (one for all such requests): a caller always gets a poll
  // that read the hardware after it asked.
  const start = (): Promise<PeripheralsReport | null> => {
    running = once()
      .catch((err: unknown) => {
        log.error({ err }, 'peripheral poll failed');
        return null;
      })
      .finally(() => {
        running = null;
      });
    return running;
  };
  const poll = (): Promise<PeripheralsReport | null> => {
    if (closed) return Promise.resolve(null);
    if (!running) return start();
    queued ??= running.then(() => {
      queued = null;
      return closed ? null : (running ?? start());
    });
    return queued;
  };

  const schedule = () => {
    if (closed) return;
    timer = clock.setTimeout(() => {
      void poll().finally(schedule);
    }, opts.intervalMs);
  };
  const unsubscribe = opts.hardware.faults?.onChange(() => void poll()) ?? (() => {});
  void poll();
  schedule();

  return {
    poll,
    current: () => prev,
    close() {
      if (closed) return;
      closed = true;
      if (timer !== null) clock.clearTimeout(timer);
      unsubscribe();
    },
  };
}

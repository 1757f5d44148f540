import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomicSync } from '../agent/atomic-file.js';
import { ProcessRunner } from '../devices/process-runner.js';
import type { Log } from '../devices/types.js';
import type { IdentifyCard } from './handlers.js';

// Where two commands leave the agent on a real box:
//   restart-media → systemd restarts the media edge's unit (the edge is its own program);
//   identify      → the card the TV kiosk page shows full-screen, as a file it reads.

export const DEFAULT_MEDIA_UNIT = 'diemcau-edge.service';

export interface MediaRestarter {
  restart(reason: string): Promise<void>;
  close?(): void;
}

/** `systemctl restart <unit>`; waits for the restart job, so a failing edge fails the command. */
export function systemdMedia(opts: { systemctl: string; unit: string; runner?: ProcessRunner; log: Log }): MediaRestarter {
  // Owned here unless given: closing it kills a systemctl still running at shutdown.
  const runner = opts.runner ?? new ProcessRunner();
  return {
    async restart(reason) {
      opts.log.warn({ unit: opts.unit, reason }, 'restarting the media edge');
      await runner.run(opts.systemctl, ['restart', opts.unit], { timeoutMs: 90_000 });
    },
    close: () => {
      if (!opts.runner) runner.close();
    },
  };
}

/**
 * Env: DIEMCAU_MEDIA_UNIT (default diemcau-edge.service), DIEMCAU_SYSTEMCTL
 * (default systemctl), DIEMCAU_KIOSK_DIR (default {dataDir}/kiosk).
 */
export function outletsFromEnv(env: Record<string, string | undefined>, dataDir: string): { unit: string; systemctl: string; kioskDir: string } {
  return {
    unit: env.DIEMCAU_MEDIA_UNIT?.trim() || DEFAULT_MEDIA_UNIT,
    systemctl: env.DIEMCAU_SYSTEMCTL?.trim() || 'systemctl',
    kioskDir: path.resolve(env.DIEMCAU_KIOSK_DIR?.trim() || path.join(dataDir, 'kiosk')),
  };
}

export interface KioskCardFile extends IdentifyCard {
  v: 1;
  shownAt: string;
  /** The page hides the card after this time, so a stale file never sticks on the TV. */
  until: string;
}

/**
 * The identify card as {dir}/identify.json, written atomically: the kiosk page
 * (served locally to the TV's Chromium) polls it and shows it full-screen
 * until `until`. A file keeps the agent free of another listening socket.
 */
export function fileKiosk(dir: string, now: () => Date = () => new Date()) {
  return {
    file: path.join(dir, 'identify.json'),
    showIdentify(card: IdentifyCard): void {
      fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
      const at = now();
      const body: KioskCardFile = { v: 1, ...card, shownAt: at.toISOString(), until: new Date(at.getTime() + card.ms).toISOString() };
      // World-readable: the kiosk runs as its own user.
      writeFileAtomicSync(path.join(dir, 'identify.json'), JSON.stringify(body), { mode: 0o644 });
    },
  };
}

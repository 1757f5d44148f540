import fs from 'node:fs';
import path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { loadSettings, settingsSection, writeFileAtomicSync, type Env } from '@diemcau/shared';
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
export function systemdMedia(opts: {
  systemctl: string;
  unit: string;
  runner?: ProcessRunner;
  log: Log;
}): MediaRestarter {
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

/** The `outlets` section of the agent's tree (systemctl is the devices section's). */
export const OutletsSettingsSchema = settingsSection(
  {
    mediaUnit: Type.String({
      minLength: 1,
      default: DEFAULT_MEDIA_UNIT,
      env: 'DIEMCAU_MEDIA_UNIT',
      description: 'systemd unit of the media edge, restarted by "restart media"',
    }),
    kioskDir: Type.Optional(
      Type.String({
        minLength: 1,
        env: 'DIEMCAU_KIOSK_DIR',
        docDefault: '`<data dir>/kiosk`',
        description: 'where the TV kiosk page reads the identify card and the link state',
      }),
    ),
  },
  'where commands leave the agent: the media unit, the kiosk files',
);
export type OutletsSettings = Static<typeof OutletsSettingsSchema>;

export function outletsFrom(
  s: OutletsSettings,
  dataDir: string,
  systemctl: string,
): { unit: string; systemctl: string; kioskDir: string } {
  return { unit: s.mediaUnit, systemctl, kioskDir: path.resolve(s.kioskDir ?? path.join(dataDir, 'kiosk')) };
}

/** From an env object (tests): DIEMCAU_MEDIA_UNIT, DIEMCAU_SYSTEMCTL, DIEMCAU_KIOSK_DIR. */
export function outletsFromEnv(env: Env, dataDir: string): { unit: string; systemctl: string; kioskDir: string } {
  const s = loadSettings(Type.Object({ outlets: OutletsSettingsSchema }), { env }, 'APPL_ERR_CONFIG').settings.outlets;
  return outletsFrom(s, dataDir, env.DIEMCAU_SYSTEMCTL?.trim() || 'systemctl');
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
      const body: KioskCardFile = {
        v: 1,
        ...card,
        shownAt: at.toISOString(),
        until: new Date(at.getTime() + card.ms).toISOString(),
      };
      // World-readable: the kiosk runs as its own user.
      writeFileAtomicSync(path.join(dir, 'identify.json'), JSON.stringify(body), { mode: 0o644 });
    },
  };
}

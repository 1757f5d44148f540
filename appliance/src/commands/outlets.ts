import fs from 'node:fs';
import path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { DiemcauError, loadSettings, settingsSection, writeFileAtomicSync, type Env } from '@diemcau/shared';
import { ProcessRunner } from '../devices/process-runner.js';
import type { Log } from '../devices/types.js';
import type { IdentifyCard } from './handlers.js';

// Where two commands leave the agent on a real box:
//   restart-media → systemd restarts the media edge's unit (the edge is its own program);
//                   on balena, the supervisor restarts the edge's container;
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

/**
 * On balena the edge is a container of its own and there is no systemd to
 * ask: balena's supervisor restarts it (its HTTP API, which the agent's
 * service is given by the io.balena.features.supervisor-api label:
 * BALENA_SUPERVISOR_ADDRESS, BALENA_SUPERVISOR_API_KEY, BALENA_APP_ID).
 */
export function balenaMedia(opts: {
  address: string;
  apiKey: string;
  appId: string;
  service: string;
  log: Log;
}): MediaRestarter {
  return {
    async restart(reason) {
      opts.log.warn({ service: opts.service, reason }, 'restarting the media edge through the balena supervisor');
      const url = new URL(`/v2/applications/${encodeURIComponent(opts.appId)}/restart-service`, opts.address);
      url.searchParams.set('apikey', opts.apiKey);
      let res: Response;
      try {
        res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ serviceName: opts.service }),
          signal: AbortSignal.timeout(90_000),
        });
      } catch (err) {
        throw new DiemcauError('APPL_ERR_MEDIA', `the balena supervisor did not answer: ${(err as Error).message}`);
      }
      if (!res.ok) {
        const said = (await res.text().catch(() => '')).slice(0, 200);
        throw new DiemcauError(
          'APPL_ERR_MEDIA',
          `the balena supervisor refused to restart ${opts.service}: ${res.status} ${said}`.trim(),
        );
      }
    },
  };
}

/** balena's supervisor when the agent runs under it (its variables are set), else systemd. */
export function mediaRestarter(
  outlets: { unit: string; systemctl: string; balenaService: string },
  env: Env,
  log: Log,
): MediaRestarter {
  const address = env.BALENA_SUPERVISOR_ADDRESS?.trim();
  const apiKey = env.BALENA_SUPERVISOR_API_KEY?.trim();
  const appId = env.BALENA_APP_ID?.trim();
  if (address && apiKey && appId) return balenaMedia({ address, apiKey, appId, service: outlets.balenaService, log });
  return systemdMedia({ unit: outlets.unit, systemctl: outlets.systemctl, log });
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
    balenaService: Type.String({
      minLength: 1,
      maxLength: 63,
      default: 'edge',
      env: 'DIEMCAU_MEDIA_BALENA_SERVICE',
      description:
        'on balena: the media edge\'s service in the fleet\'s compose file, restarted through the supervisor by "restart media"',
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
  'where commands leave the agent: the media unit (or balena service), the kiosk files',
);
export type OutletsSettings = Static<typeof OutletsSettingsSchema>;

export function outletsFrom(
  s: OutletsSettings,
  dataDir: string,
  systemctl: string,
): { unit: string; systemctl: string; balenaService: string; kioskDir: string } {
  return {
    unit: s.mediaUnit,
    systemctl,
    balenaService: s.balenaService,
    kioskDir: path.resolve(s.kioskDir ?? path.join(dataDir, 'kiosk')),
  };
}

/** From an env object (tests): DIEMCAU_MEDIA_UNIT, DIEMCAU_SYSTEMCTL, DIEMCAU_KIOSK_DIR. */
export function outletsFromEnv(env: Env, dataDir: string): ReturnType<typeof outletsFrom> {
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

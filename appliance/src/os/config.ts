// The OS updater's settings on a box: the `os` section of the agent's tree.
// Like every hardware interface, the real implementation (apt and dpkg) or a
// simulated one is chosen here, never by accident: by default it follows
// DIEMCAU_HARDWARE. Every host path can be overridden (tests point apt at a
// scratch root).
import path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { loadSettings, settingsSection, type Env } from '@diemcau/shared';

export const OsSettingsSchema = settingsSection(
  {
    updates: Type.Optional(
      Type.Union([Type.Literal('apt'), Type.Literal('simulated'), Type.Literal('off')], {
        env: 'DIEMCAU_OS_UPDATES',
        docDefault: '`apt` on real hardware, `simulated` otherwise',
        description:
          'how operating system snapshots are applied: apt-get and dpkg, a simulated package list, or not at all',
      }),
    ),
    unit: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9@._-]+\\.service$',
        env: 'DIEMCAU_OS_UNIT',
        description:
          "a root oneshot unit that runs apt for the agent (the image's diemcau-os-update.service); unset: the agent runs apt itself",
      }),
    ),
    root: Type.String({
      minLength: 1,
      default: '/',
      env: 'DIEMCAU_OS_ROOT',
      description: "the root apt and dpkg install into (tests: a scratch directory; '/' on a box)",
    }),
    keyrings: Type.String({
      minLength: 1,
      default: '/usr/share/keyrings/debian-archive-keyring.gpg',
      env: 'DIEMCAU_OS_KEYRINGS',
      description:
        "comma-separated OpenPGP keyrings apt checks the mirror snapshot's signature with (Debian's, and the province's mirror key if it re-signs)",
    }),
    aptConfig: Type.Optional(
      Type.String({
        minLength: 1,
        env: 'DIEMCAU_OS_APT_CONFIG',
        description: "an extra apt configuration file (apt-get -c), read after the host's",
      }),
    ),
    rebootRequiredFile: Type.String({
      minLength: 1,
      default: '/run/reboot-required',
      env: 'DIEMCAU_OS_REBOOT_REQUIRED_FILE',
      description: "Debian's marker that a new kernel or library needs a restart",
    }),
    stateDir: Type.Optional(
      Type.String({
        minLength: 1,
        env: 'DIEMCAU_OS_STATE_DIR',
        docDefault: '`<data dir>/os`',
        description: 'the applied snapshot, the request and result files of the root unit, the sources list',
      }),
    ),
    unitDir: Type.String({
      minLength: 1,
      default: '/var/lib/diemcau-os',
      env: 'DIEMCAU_OS_UNIT_DIR',
      description:
        "the root unit's own directory (root's, systemd's StateDirectory): its sources list and its answer; the agent only reads it",
    }),
    holdCheckSec: Type.Integer({
      minimum: 1,
      default: 60,
      env: 'DIEMCAU_OS_HOLD_CHECK_SEC',
      description: 'while the box is in a meeting, how often it looks again whether the update may start',
    }),
  },
  'operating system updates (Debian packages from the province mirror)',
);
export type OsSettings = Static<typeof OsSettingsSchema>;

export interface OsAgentConfig {
  updates: 'apt' | 'simulated' | 'off';
  unit: string | null;
  root: string;
  keyrings: string[];
  aptConfig: string | null;
  rebootRequiredFile: string;
  stateDir: string;
  unitDir: string;
  holdCheckMs: number;
}

export function osAgentConfig(s: OsSettings, dataDir: string, hardware: 'real' | 'simulated'): OsAgentConfig {
  return {
    updates: s.updates ?? (hardware === 'real' ? 'apt' : 'simulated'),
    unit: s.unit ?? null,
    root: s.root,
    keyrings: s.keyrings
      .split(',')
      .map((k) => k.trim())
      .filter((k) => k !== ''),
    aptConfig: s.aptConfig ?? null,
    rebootRequiredFile: s.rebootRequiredFile,
    stateDir: s.stateDir ?? path.join(dataDir, 'os'),
    unitDir: s.unitDir,
    holdCheckMs: s.holdCheckSec * 1000,
  };
}

const SectionOnly = Type.Object({ os: OsSettingsSchema });

/** The section alone from an env object: for os-update.mjs, the root unit's program. */
export function osConfigFromEnv(env: Env, dataDir: string): OsAgentConfig {
  return osAgentConfig(loadSettings(SectionOnly, { env }, 'APPL_ERR_CONFIG').settings.os, dataDir, 'real');
}

import { createHash } from 'node:crypto';
import type { Command, SelfTestResult } from '@diemcau/shared';
import type { Hardware } from '../devices/types.js';
import type { HandlerMap, HandlerOutcome } from './executor.js';
import type { SettingsStore } from './settings.js';

// One handler per command type. Each turns a command into calls on the
// hardware, media and agent interfaces it is given; none touches a system
// service directly, so the simulated hardware exercises the same code.

export const IDENTIFY_MS = 15_000;

export interface IdentifyCard {
  siteName: string;
  /** Short code the person in the room reads back to the province on the phone. */
  code: string;
  ms: number;
}

export interface CommandDeps {
  hardware: Pick<Hardware, 'power' | 'selfTest' | 'identify'>;
  /** The local media edge; null where this box runs none. */
  media: { restart(reason: string): Promise<void>; close?(): void } | null;
  /** Full-screen card on the TV kiosk; null where no kiosk runs. */
  kiosk: { showIdentify(card: IdentifyCard): Promise<void> | void } | null;
  site: () => { deviceId: string; siteName: string };
  settings: SettingsStore;
  /** publishDurable on 'health'. */
  publishHealth: (result: SelfTestResult) => Promise<void>;
  /** Ends this agent so the service manager (or the simulator) starts it again. */
  requestAgentRestart: (reason: string) => void;
  identifyMs?: number;
}

/** Four characters from the device id: stable per box, easy to read aloud. */
export function shortCode(deviceId: string): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'; // no 0/O or 1/I to misread
  const h = createHash('sha256').update(deviceId).digest();
  return Array.from(h.subarray(0, 4), (b) => alphabet[b % alphabet.length]).join('');
}

const reasonOf = (cmd: Command) => `command ${cmd.id}${cmd.force ? ` (forced: ${cmd.force.reason})` : ''}`;

const rejected = (message: string): HandlerOutcome => ({
  status: 'rejected',
  error: { code: 'APPL_ERR_COMMAND_PARAMS', message },
});

export function createHandlers(deps: CommandDeps): HandlerMap {
  return {
    async reboot(cmd) {
      // Resolves once systemd accepted it; the result is queued on disk before
      // the box goes down and delivered after it is back.
      await deps.hardware.power.reboot(reasonOf(cmd));
      return { status: 'succeeded', output: { requested: 'reboot' } };
    },
    async 'restart-agent'(cmd) {
      return {
        status: 'succeeded',
        output: { requested: 'restart-agent' },
        // After the result is on disk: the next agent answers nothing twice.
        after: () => deps.requestAgentRestart(reasonOf(cmd)),
      };
    },
    async 'restart-media'(cmd) {
      if (!deps.media)
        return { status: 'rejected', error: { code: 'APPL_ERR_MEDIA', message: 'this box runs no media edge' } };
      await deps.media.restart(reasonOf(cmd));
      return { status: 'succeeded', output: { restarted: 'media' } };
    },
    async identify(cmd) {
      const ms = deps.identifyMs ?? IDENTIFY_MS;
      const { deviceId, siteName } = deps.site();
      const code =
        typeof cmd.params.code === 'string' && /^[A-Z0-9]{2,8}$/.test(cmd.params.code)
          ? cmd.params.code
          : shortCode(deviceId);
      const card: IdentifyCard = { siteName, code, ms };
      // The card and the LED run for `ms` on their own; the command answers when both started.
      const [hw] = await Promise.all([deps.hardware.identify(ms), deps.kiosk?.showIdentify(card)]);
      return {
        status: 'succeeded',
        output: { siteName, code, ms, tv: hw.tv, led: hw.led, kiosk: deps.kiosk !== null },
      };
    },
    async 'self-test'(cmd) {
      const result = await deps.hardware.selfTest({ commandId: cmd.id, withHost: true });
      await deps.publishHealth(result);
      const outcome: HandlerOutcome = {
        status: 'succeeded',
        output: { ok: result.ok, peripherals: result.peripherals, finishedAt: result.finishedAt },
      };
      return outcome;
    },
    async 'set-config'(cmd) {
      const out = deps.settings.apply(cmd.params);
      if (!out.ok) return rejected(out.problems.join('; '));
      return { status: 'succeeded', output: { settings: out.settings } };
    },
  };
}

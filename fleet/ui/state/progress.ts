// What a disruptive command really did, from data that survives a reload:
// the command's record, the box's presence (with when it last changed) and
// its newest telemetry sample (uptime). A reboot the box accepted is not a
// reboot done: the box must drop off, come back, and report an uptime that
// started after it accepted. No DOM here: fleet/test/ui/progress.test.ts runs it in Node.
import type { CommandView, Device, OtaReport } from '../api/types.js';

export type RebootStage =
  | 'sending' // stored or delivered, no answer yet
  | 'restarting' // the box accepted and is shutting down
  | 'offline' // it dropped off, as a rebooting box does
  | 'reconnected' // it is back online; its first sample (uptime) is awaited
  | 'back' // back, with an uptime that started after the reboot: done
  | 'not-restarted' // back, but its uptime says it never restarted
  | 'no-return' // accepted long ago and never seen back
  | 'failed'; // the box refused, failed or the command expired

export interface RebootProgress {
  stage: RebootStage;
  /** When the current stage began, where known. */
  since?: string;
  /** At 'back': the uptime of the box's first sample since it came back. */
  uptimeSec?: number;
}

/** Stages that end the story: the page stops following and the command counts as done (or not). */
export const REBOOT_FINAL: ReadonlySet<RebootStage> = new Set(['back', 'not-restarted', 'no-return', 'failed']);

// Clocks of the box and the fleet differ a little; the box's boot time is
// computed from its own sample, so allow for that much skew.
const SKEW_MS = 5_000;
/** A box that accepted a reboot and is not back after this long needs someone to look. */
export const REBOOT_RETURN_MS = 10 * 60_000;

export function acceptedAt(c: CommandView): string | undefined {
  return c.completedAt ?? c.result?.at ?? undefined; // the fleet's clock first, as presenceAt is
}

export function rebootProgress(c: CommandView, d: Device | undefined, now: number): RebootProgress {
  if (c.status === 'queued') return { stage: 'sending' };
  if (c.status !== 'succeeded' && c.status !== 'delivered') return { stage: 'failed' };
  // Delivered with no answer yet: the answer may be on its way, or the box
  // went down before sending it; either way it counts from the delivery.
  const accepted = c.status === 'delivered' ? (c.deliveredAt ?? undefined) : acceptedAt(c);
  if (
    c.status === 'delivered' &&
    (!d || d.online || !d.presenceAt || !accepted || Date.parse(d.presenceAt) < Date.parse(accepted) - SKEW_MS)
  )
    return { stage: 'sending' };
  const t0 = accepted ? Date.parse(accepted) : NaN;
  if (!d || Number.isNaN(t0)) return { stage: 'restarting', ...(accepted ? { since: accepted } : {}) };
  const changed = d.presenceAt ? Date.parse(d.presenceAt) : NaN;
  const changedSince = !Number.isNaN(changed) && changed >= t0 - SKEW_MS;
  if (!d.online)
    return changedSince ? { stage: 'offline', since: d.presenceAt! } : { stage: 'restarting', since: accepted! };
  if (!changedSince) {
    return now - t0 > REBOOT_RETURN_MS
      ? { stage: 'no-return', since: accepted! }
      : { stage: 'restarting', since: accepted! };
  }
  // Online again after accepting: did it restart? Its first sample since says
  // so. "Since" by the fleet's clock (when the sample arrived), as presenceAt
  // is: a sample sent just before the reboot must not pass for the first after it.
  const sample = d.telemetry?.data;
  const received = d.telemetry ? Date.parse(d.telemetry.receivedAt) : NaN;
  const sampleAt = sample ? Date.parse(sample.at) : NaN;
  if (!sample || Number.isNaN(sampleAt) || Number.isNaN(received) || received < changed)
    return { stage: 'reconnected', since: d.presenceAt! };
  const bootedAt = sampleAt - sample.uptimeSec * 1000;
  if (bootedAt >= t0 - SKEW_MS) return { stage: 'back', since: d.presenceAt!, uptimeSec: sample.uptimeSec };
  return { stage: 'not-restarted', since: d.presenceAt! };
}

/** The steps an update goes through on the box, in order (shared/src/ota.ts OTA_STATES). */
export const OTA_STEPS = ['downloading', 'verifying', 'installing', 'switching', 'health-check', 'committed'] as const;

export interface OtaStep {
  step: (typeof OTA_STEPS)[number];
  state: 'done' | 'now' | 'todo' | 'failed';
}

/** The update's steps with where the box is: done, now, still to do, or where it failed. */
export function otaSteps(r: OtaReport): OtaStep[] | null {
  if (r.state === 'idle') return null;
  const failedAt = r.state === 'failed' || r.state === 'rolled-back';
  const at = failedAt ? (r.error?.code ? stepOfError(r) : 'health-check') : r.state;
  const i = OTA_STEPS.indexOf(at as (typeof OTA_STEPS)[number]);
  if (i < 0) return null;
  return OTA_STEPS.map((step, k) => ({
    step,
    state: k < i ? 'done' : k > i ? 'todo' : failedAt ? 'failed' : step === 'committed' ? 'done' : 'now',
  }));
}

/**
 * Whether the version a box runs is on trial: the box switched to it and
 * restarted (or rebooted) into it, but has not committed it, so it may still
 * roll back. The box's birth names the version it runs, which during a trial
 * is the new one; its last update report says whether that version is still
 * being checked. A report from before the restart (switching) counts too: the
 * restarted agent's first report may not be in yet.
 */
export function versionOnTrial(agentVersion: string | null, r: OtaReport | null): boolean {
  if (agentVersion === null || r === null || r.target !== agentVersion) return false;
  return r.state === 'switching' || r.state === 'health-check';
}

/** Where a failed update stopped: its error code names the step when it can. */
function stepOfError(r: OtaReport): string {
  const code = r.error?.code ?? '';
  if (/DOWNLOAD|DISK/.test(code)) return 'downloading';
  if (/VERIFY|SIGNATURE|HASH|REQUIREMENTS|INCOMPATIBLE|DOWNGRADE/.test(code)) return 'verifying';
  if (/INSTALL|STAGE|SPACE/.test(code)) return 'installing';
  if (/SWITCH/.test(code)) return 'switching';
  return 'health-check';
}

// The update step planner: given what the journal says, what the fleet wants
// and a few facts read from disk, which single step comes next? Pure, so
// every crash point can be replayed in a test without a disk or a network
// (after balena-supervisor's nextStepsForAppUpdate). The executor performs
// the step, rewrites the journal and asks again until the answer is 'noop'.
import { compareVersions, downgradeRefusal, type DesiredRelease, type UnmetRequirement } from '@diemcau/shared';
import type { Journal } from './journal.js';
import { describeUnmet, unmetRequirements, type BoxFacts } from './requirements.js';

export interface PlanLimits {
  /** Starts of a new version allowed before it counts as a crash loop. */
  maxBootAttempts: number;
  /** Time from the switch within which the new version must pass its health gate. */
  trialTimeoutMs: number;
  /** Disk kept free beyond what the update needs (logs, queues). */
  reserveBytes: number;
  /** Artifacts that fail their hash before the release is given up. */
  maxHashFailures: number;
}

export const DEFAULT_LIMITS: PlanLimits = {
  maxBootAttempts: 3,
  trialTimeoutMs: 10 * 60_000,
  reserveBytes: 64 * 1024 * 1024,
  maxHashFailures: 3,
};

export interface PlanInput {
  journal: Journal;
  desired: DesiredRelease | null;
  /** Version the `current` link points at (null on a box without the layout). */
  current: string | null;
  /** Version of the running agent, checked against a manifest's minAgentVersion. */
  agentVersion: string;
  /** Bytes of the target's artifact already on disk. */
  downloaded: number;
  /** versions/<target> is unpacked and complete. */
  installed: boolean;
  freeBytes: number;
  /**
   * The box's packages, architecture and Node ABI, read while a release
   * with `requires` waits to be downloaded; absent, such a release is
   * refused (the box cannot tell it would run it).
   */
  box?: BoxFacts;
  now: number;
  limits: PlanLimits;
}

export type Step =
  | { action: 'noop' }
  | { action: 'report' }
  | { action: 'accept' }
  | { action: 'abandon'; reason: string }
  | { action: 'fail'; code: string; message: string; unmet?: UnmetRequirement[] }
  | { action: 'download' }
  | { action: 'verify' }
  | { action: 'install' }
  | { action: 'switch' }
  | { action: 'restart' }
  | { action: 'health-check' }
  | { action: 'commit' }
  | { action: 'rollback'; code: string; message: string };

const sameRelease = (a: DesiredRelease, b: DesiredRelease): boolean =>
  a.version === b.version && a.manifest.signature === b.manifest.signature;

export function planNext(input: PlanInput): Step {
  const { journal: j, desired } = input;
  // The fleet hears about an outcome before anything else happens: a failed
  // box that silently tried again would hide the failure from the rollout.
  if (j.outcome && !j.outcome.reported) return { action: 'report' };

  switch (j.phase) {
    case 'switching':
      return { action: 'switch' }; // the swap is idempotent: finish it
    case 'rolling-back':
      return { action: 'rollback', ...(j.rollbackReason ?? { code: 'APPL_ERR_OTA', message: 'rollback interrupted' }) };
    case 'trial':
      return planTrial(input);
    case 'downloading':
    case 'verified':
    case 'installed':
      return planStaging(input);
    case 'idle':
      if (!desired || desired.version === input.current) return { action: 'noop' };
      if (j.failed.some((f) => f.version === desired.version && desiredSha(desired) === f.sha256))
        return { action: 'noop' };
      return { action: 'accept' };
  }
}

function planTrial(input: PlanInput): Step {
  const { journal: j, limits } = input;
  // Still the old process: the new version runs only after a restart.
  if (j.bootAttempts === 0) return { action: 'restart' };
  if (j.health?.ok) return { action: 'commit' };
  if (j.health && !j.health.ok) return { action: 'rollback', code: j.health.code, message: j.health.message };
  if (j.bootAttempts > limits.maxBootAttempts) {
    return {
      action: 'rollback',
      code: 'APPL_ERR_OTA_HEALTH',
      message: `no healthy start in ${limits.maxBootAttempts} attempts`,
    };
  }
  const started = j.trialStartedAt ? Date.parse(j.trialStartedAt) : input.now;
  if (input.now - started > limits.trialTimeoutMs) {
    return {
      action: 'rollback',
      code: 'APPL_ERR_OTA_HEALTH',
      message: `not healthy within ${limits.trialTimeoutMs} ms of the switch`,
    };
  }
  return { action: 'health-check' };
}

function planStaging(input: PlanInput): Step {
  const { journal: j, desired, limits } = input;
  const target = j.target;
  if (!target) return { action: 'abandon', reason: 'journal has no target' };
  if (!desired || !sameRelease(desired, target.desired))
    return { action: 'abandon', reason: 'desired release changed' };
  const m = target.manifest;
  // The box keeps the version rule itself, from the manifest it verified, so
  // a fleet (or whoever holds its admin token) cannot replay an old release.
  const refusal = downgradeRefusal(m, input.current, j.highest);
  if (refusal) return { action: 'fail', code: 'APPL_ERR_OTA_DOWNGRADE', message: refusal };
  if (compareVersions(input.agentVersion, m.minAgentVersion) < 0) {
    return {
      action: 'fail',
      code: 'APPL_ERR_OTA_INCOMPATIBLE',
      message: `needs agent ${m.minAgentVersion}, running ${input.agentVersion}`,
    };
  }
  if (j.phase === 'downloading') {
    // Before a byte is fetched: a release whose worker cannot load here would only roll back after the switch.
    if (m.requires) {
      const facts = input.box ?? { packages: null, arch: 'unknown', nodeAbi: 'unknown' };
      const unmet = unmetRequirements(m.requires, facts);
      if (unmet.length > 0) {
        const why = facts.packages === null ? ' (the installed packages could not be listed)' : '';
        return {
          action: 'fail',
          code: 'APPL_ERR_OTA_REQUIREMENTS',
          message:
            `release ${m.version} needs what this box lacks: ${describeUnmet(unmet, facts.packages !== null)}${why}`.slice(
              0,
              1000,
            ),
          unmet,
        };
      }
    }
    if (j.hashFailures >= limits.maxHashFailures) {
      return { action: 'fail', code: 'APPL_ERR_OTA_HASH', message: `artifact failed its hash ${j.hashFailures} times` };
    }
    // Free disk first: the rest of the download, the unpacked copy and a reserve.
    const needed = Math.max(0, m.size - input.downloaded) + m.unpackedSize + limits.reserveBytes;
    if (input.freeBytes < needed) {
      return {
        action: 'fail',
        code: 'APPL_ERR_OTA_DISK',
        message: `needs ${needed} bytes free, has ${input.freeBytes}`,
      };
    }
    return input.downloaded < m.size ? { action: 'download' } : { action: 'verify' };
  }
  if (j.phase === 'verified') return input.installed ? { action: 'switch' } : { action: 'install' };
  return { action: 'switch' };
}

/** The sha256 a desired release claims, read from its (not yet verified) payload. */
function desiredSha(d: DesiredRelease): string {
  try {
    const p = JSON.parse(d.manifest.payload) as { sha256?: unknown };
    return typeof p.sha256 === 'string' ? p.sha256 : '';
  } catch {
    return '';
  }
}

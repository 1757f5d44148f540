// The updater's journal: one small JSON file, written atomically (write,
// fsync, rename, fsync dir) before and after every step that changes the
// disk, so a kill or a power cut at any point leaves a record the next start
// can finish or undo. The planner reads it; only the executor writes it.
import fs from 'node:fs';
import {
  compareVersions,
  writeFileAtomic,
  type DesiredRelease,
  type ReleaseManifest,
  type UnmetRequirement,
} from '@diemcau/shared';

export type Phase =
  | 'idle' // nothing in flight
  | 'downloading' // target accepted (signature checked), artifact being fetched
  | 'verified' // artifact hash and signature checked
  | 'installed' // unpacked into versions/<v>
  | 'switching' // links being swapped; `from` says where we came from
  | 'trial' // current → target; waiting for the health gate
  | 'rolling-back'; // links being swapped back to `from`

export interface Target {
  desired: DesiredRelease;
  manifest: ReleaseManifest;
}

export interface Outcome {
  version: string;
  result: 'committed' | 'rolled-back' | 'failed';
  error?: { code: string; message: string; unmet?: UnmetRequirement[] };
  rolloutId?: string;
  at: string;
  reported: boolean;
}

export interface Journal {
  v: 1;
  phase: Phase;
  target: Target | null;
  /** Version the box ran before the switch (the rollback destination). */
  from: string | null;
  /** Artifacts that failed their hash so far for this target. */
  hashFailures: number;
  /** Starts of the target version while in trial; the boot check counts them. */
  bootAttempts: number;
  /** systemd's INVOCATION_ID of the start last counted: the pre-start check and the agent count one start once. */
  lastInvocation: string | null;
  trialStartedAt: string | null;
  /** Set by the health gate in trial. */
  health: { ok: true } | { ok: false; code: string; message: string } | null;
  rollbackReason: { code: string; message: string } | null;
  outcome: Outcome | null;
  /**
   * Releases (version + sha256) that failed here: not tried again until the
   * fleet sends another. `code` says why; a release refused for missing
   * packages is tried again at the next start (see Updater.bootCheck).
   */
  failed: { version: string; sha256: string; code?: string }[];
  /**
   * The highest version this box has run (null: none recorded, `current` is
   * the highest). Kept across updates so that after a signed rollback the
   * version rolled back from, or one between, cannot be replayed onto it.
   */
  highest: string | null;
}

export const emptyJournal = (): Journal => ({
  v: 1,
  phase: 'idle',
  target: null,
  from: null,
  hashFailures: 0,
  bootAttempts: 0,
  lastInvocation: null,
  trialStartedAt: null,
  health: null,
  rollbackReason: null,
  outcome: null,
  failed: [],
  highest: null,
});

/** The higher of the versions given (nulls ignored). */
function highestOf(...versions: (string | null | undefined)[]): string | null {
  let best: string | null = null;
  for (const v of versions) if (v && (best === null || compareVersions(v, best) > 0)) best = v;
  return best;
}

/** Back to idle with an outcome; keeps the failed list and the highest version run. */
export function finish(j: Journal, outcome: Omit<Outcome, 'reported' | 'at' | 'rolloutId'>, now: Date): Journal {
  const rolloutId = j.target?.desired.rolloutId;
  const failed =
    outcome.result === 'committed' || !j.target
      ? j.failed
      : [
          ...j.failed.filter((f) => f.version !== j.target!.manifest.version),
          {
            version: j.target.manifest.version,
            sha256: j.target.manifest.sha256,
            ...(outcome.error ? { code: outcome.error.code } : {}),
          },
        ].slice(-20);
  // A commit moves the box from `from` to the new version: both have run here.
  const highest = outcome.result === 'committed' ? highestOf(j.highest, j.from, outcome.version) : j.highest;
  return {
    ...emptyJournal(),
    failed,
    highest,
    outcome: { ...outcome, ...(rolloutId ? { rolloutId } : {}), at: now.toISOString(), reported: false },
  };
}

export class JournalFile {
  constructor(readonly file: string) {}

  /** A missing or unreadable journal is an idle one: the links on disk are the truth then. */
  load(): Journal {
    try {
      const parsed = JSON.parse(fs.readFileSync(this.file, 'utf8')) as Journal;
      if (parsed && parsed.v === 1 && typeof parsed.phase === 'string') return { ...emptyJournal(), ...parsed };
    } catch {
      // fall through
    }
    return emptyJournal();
  }

  async save(j: Journal): Promise<void> {
    await writeFileAtomic(this.file, JSON.stringify(j, null, 1), { fsync: true });
  }
}

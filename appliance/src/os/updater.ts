// The OS updater: takes the desired snapshot from the fleet, waits while the
// box is in a meeting, applies it (through an OsApplier), checks the box's
// health after, reboots when Debian says a new kernel or library needs it,
// and reports each step on 'os'. Its state file keeps the snapshot applied
// and, across the reboot, the one being finished: the report after the boot
// carries what apt changed before it.
//
// Nothing is rolled back: apt does not downgrade, and a snapshot's packages
// replace the old ones in place. What protects the box is the order (the
// fleet's rings stop at the first failures), the health check after (a box
// that lost its fleet connection or a peripheral reports failed), and the
// agent itself, which runs its own Node runtime and modules under versions/
// and so does not change with the OS.
import fs from 'node:fs';
import type { Logger } from 'pino';
import {
  DiemcauError,
  desiredOsCodec,
  writeFileAtomic,
  type DesiredOs,
  type OsStatus,
  type PackageChange,
} from '@diemcau/shared';
import type { OsApplier } from './applier.js';

type Update = NonNullable<DesiredOs['update']>;

interface OsState {
  v: 1;
  /** The snapshot applied last (null: none since the box was imaged). */
  current: string | null;
  /** Applied, rebooting: the boot after finishes it (health check, report). */
  rebooting: { snapshot: string; rolloutId?: string; changed: PackageChange[] } | null;
  /** Applying failed: not tried again until the fleet names another snapshot (a new rollout). */
  failed: string | null;
}

export interface OsUpdaterDeps {
  applier: OsApplier;
  stateFile: string;
  /** True while the box takes part in a live meeting: nothing starts then. */
  busy: () => boolean;
  report: (s: OsStatus) => Promise<void>;
  health: {
    /** Before apt runs: remember what works now. */
    before(): Promise<void>;
    /** After apt (and after the reboot): null when the box is as healthy as before, else what is worse. */
    after(): Promise<string | null>;
  };
  reboot: (reason: string) => Promise<void>;
  holdCheckMs: number;
  log: Logger;
  now?: () => number;
}

export class OsUpdater {
  private state: OsState;
  private desired: Update | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private holdTimer: NodeJS.Timeout | null = null;
  private said: string | null = null;
  private closed = false;
  readonly stats = { refused: 0, applied: 0, failed: 0, held: 0 };

  constructor(private readonly d: OsUpdaterDeps) {
    this.state = this.load();
  }

  get current(): string | null {
    return this.state.current;
  }

  /** At start: a snapshot applied before a reboot is finished (health check, then the report). */
  async start(): Promise<void> {
    const r = this.state.rebooting;
    if (!r) return;
    const problem = await this.d.health.after().catch((err: unknown) => (err as Error).message);
    if (problem) await this.fail(r.snapshot, r.rolloutId, new DiemcauError('APPL_ERR_OS_HEALTH', problem));
    else {
      await this.save({ ...this.state, current: r.snapshot, rebooting: null, failed: null });
      this.stats.applied++;
      // The retained desired message comes again after the boot: this report already answers it.
      this.said = `done:${r.snapshot}:${r.rolloutId ?? ''}`;
      await this.tell('applied', r.snapshot, r.rolloutId, { changed: r.changed, rebootRequired: true });
    }
  }

  /** The retained 'desired-os' message; bad input is counted and logged, never thrown. */
  handleDesiredMessage(payload: Buffer | string): void {
    const m = desiredOsCodec.decode(payload);
    if (!m.ok) {
      this.stats.refused++;
      this.d.log.warn({ err: m.error }, 'desired OS message refused');
      return;
    }
    this.desired = m.value.update;
    this.kick();
  }

  /** Looks again (a meeting ended, a new desired snapshot): runs are never overlapped. */
  kick(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.step()
      .catch((err: unknown) => this.d.log.error({ err }, 'OS update step failed'))
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  private async step(): Promise<void> {
    const u = this.desired;
    if (!u || this.state.rebooting) return;
    if (u.snapshot === this.state.current) {
      // Already there (an earlier rollout, or the report was lost): say so, the fleet counts it.
      // No `changed`: what apt changed was told when it ran.
      if (this.said !== `done:${u.snapshot}:${u.rolloutId ?? ''}`) {
        this.said = `done:${u.snapshot}:${u.rolloutId ?? ''}`;
        await this.tell('applied', u.snapshot, u.rolloutId);
      }
      return;
    }
    if (u.snapshot === this.state.failed) return;
    if (this.d.busy()) {
      if (this.said !== u.snapshot) {
        this.said = u.snapshot;
        this.stats.held++;
        this.d.log.info({ snapshot: u.snapshot }, 'OS update held: the box is in a meeting');
        await this.tell('held', u.snapshot, u.rolloutId);
      }
      this.holdTimer ??= setTimeout(() => {
        this.holdTimer = null;
        this.kick();
      }, this.d.holdCheckMs);
      this.holdTimer.unref();
      return;
    }
    this.said = null;
    await this.tell('applying', u.snapshot, u.rolloutId);
    try {
      await this.d.health.before();
      const r = await this.d.applier.apply({ snapshot: u.snapshot, sources: u.sources });
      if (r.rebootRequired) {
        await this.save({
          ...this.state,
          rebooting: { snapshot: u.snapshot, ...(u.rolloutId ? { rolloutId: u.rolloutId } : {}), changed: r.changed },
        });
        await this.tell('rebooting', u.snapshot, u.rolloutId, { changed: r.changed, rebootRequired: true });
        await this.d.reboot(`OS snapshot ${u.snapshot} needs a restart`);
        return;
      }
      const problem = await this.d.health.after();
      if (problem) throw new DiemcauError('APPL_ERR_OS_HEALTH', problem);
      await this.save({ ...this.state, current: u.snapshot, failed: null });
      this.stats.applied++;
      await this.tell('applied', u.snapshot, u.rolloutId, { changed: r.changed, rebootRequired: false });
    } catch (err) {
      await this.fail(u.snapshot, u.rolloutId, err);
    }
  }

  private async fail(snapshot: string, rolloutId: string | undefined, err: unknown): Promise<void> {
    this.stats.failed++;
    const code = err instanceof DiemcauError ? err.code : 'APPL_ERR_OS_APT';
    const message = (err as Error).message.slice(0, 1000);
    this.d.log.error({ err, snapshot }, 'OS update failed');
    await this.save({ ...this.state, rebooting: null, failed: snapshot });
    await this.tell('failed', snapshot, rolloutId, { error: { code, message } });
  }

  private tell(
    state: OsStatus['state'],
    snapshot: string,
    rolloutId: string | undefined,
    extra: Partial<Pick<OsStatus, 'changed' | 'rebootRequired' | 'error'>> = {},
  ): Promise<void> {
    return this.d.report({
      v: 1,
      at: new Date((this.d.now ?? Date.now)()).toISOString(),
      state,
      snapshot,
      current: this.state.current,
      ...(rolloutId ? { rolloutId } : {}),
      ...(extra.changed ? { changed: extra.changed.slice(0, 1000) } : {}),
      ...(extra.rebootRequired !== undefined ? { rebootRequired: extra.rebootRequired } : {}),
      ...(extra.error ? { error: extra.error } : {}),
    });
  }

  private load(): OsState {
    try {
      const s = JSON.parse(fs.readFileSync(this.d.stateFile, 'utf8')) as OsState;
      if (s.v === 1) return s;
    } catch {
      // first start: nothing applied yet
    }
    return { v: 1, current: null, rebooting: null, failed: null };
  }

  private async save(s: OsState): Promise<void> {
    this.state = s;
    await writeFileAtomic(this.d.stateFile, JSON.stringify(s), { fsync: true });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.holdTimer) clearTimeout(this.holdTimer);
    await this.running;
    this.d.applier.close();
  }
}

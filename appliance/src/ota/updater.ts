// The updater: hears the desired release, then plans and executes one step
// at a time until nothing is left, backing off when a step fails for a
// reason that may pass (a dropped link). Wires the pure planner to the
// executor; owns no I/O of its own beyond the free-space probe.
import type { Logger } from 'pino';
import { desiredWithReleaseCodec, type DesiredRelease, type OtaState } from '@diemcau/shared';
import { OtaExecutor, type ExecutorDeps } from './executor.js';
import { finish } from './journal.js';
import type { Layout } from './layout.js';
import { DEFAULT_LIMITS, planNext, type PlanLimits, type Step } from './planner.js';
import type { DiskProbe } from './disk.js';
import type { PackageProbe } from './packages.js';
import type { BoxFacts } from './requirements.js';

export interface UpdaterOptions extends ExecutorDeps {
  limits?: Partial<PlanLimits>;
  disk: DiskProbe;
  /**
   * Lists installed Debian packages for a release's `requires` (dpkg on a
   * box, a listed file on simulated hardware: the settings choose). Absent,
   * a release that names packages is refused.
   */
  packages?: PackageProbe;
  /** process.arch and process.versions.modules unless given (a test plays another box). */
  arch?: string;
  nodeAbi?: string;
  /** Version of the running agent code. */
  agentVersion: string;
  backoff?: { initialMs: number; maxMs: number };
  onStep?: (step: Step) => void;
}

const STEP_STATE: Partial<Record<Step['action'], OtaState>> = {
  download: 'downloading',
  verify: 'verifying',
  install: 'installing',
  switch: 'switching',
  'health-check': 'health-check',
};

export class Updater {
  private readonly limits: PlanLimits;
  private readonly exec: OtaExecutor;
  private readonly log: Logger;
  /** undefined until the retained desired message arrives: keep going with what the journal holds. */
  private desired: DesiredRelease | null | undefined = undefined;
  private wake: (() => void) | null = null;
  /** Bumped by every desired message, so one arriving mid-reconcile is not missed. */
  private generation = 0;
  private closed = false;
  private restarting = false;
  private loop: Promise<void> | null = null;
  readonly counters = { rejectedDesired: 0, stepErrors: 0 };

  constructor(private readonly o: UpdaterOptions) {
    this.limits = { ...DEFAULT_LIMITS, ...o.limits };
    this.log = o.logger.child({ module: 'ota' });
    this.exec = new OtaExecutor({
      ...o,
      logger: this.log,
      restart: async () => {
        this.restarting = true;
        await o.restart();
      },
    });
  }

  get layout(): Layout {
    return this.o.layout;
  }

  /** Payload of the retained 'desired' message; bad input is counted and logged, never thrown. */
  handleDesiredMessage(payload: Buffer | string): void {
    const d = desiredWithReleaseCodec.decode(payload);
    if (!d.ok) {
      this.counters.rejectedDesired++;
      this.log.warn({ err: d.error.toJSON() }, 'rejected desired message');
      return;
    }
    this.setDesired(d.value.release ?? null);
  }

  setDesired(d: DesiredRelease | null): void {
    this.desired = d;
    this.generation++;
    this.wake?.();
  }

  /**
   * Counts a start of a version on trial; past the limit, rolls the link back
   * before anything else runs, so a version that dies at start cannot loop
   * forever. Call once per process start, before start(). `invocationId`
   * (systemd's INVOCATION_ID) makes a second call for the same start a no-op,
   * so ExecStartPre (ota-boot.mjs, which runs even when the new agent dies at
   * import) and the agent itself can both call it.
   */
  async bootCheck(invocationId?: string): Promise<'normal' | 'trial' | 'rolled-back'> {
    const { journal, layout } = this.o;
    let j = journal.load();
    // Packages may have been installed since a release was refused for
    // lacking them (a technician, a new image): each start checks again.
    // Once per start, so a box still lacking them reports once, not in a loop.
    if (j.failed.some((f) => f.code === 'APPL_ERR_OTA_REQUIREMENTS')) {
      j = { ...j, failed: j.failed.filter((f) => f.code !== 'APPL_ERR_OTA_REQUIREMENTS') };
      await journal.save(j);
    }
    if (j.phase !== 'trial' || !j.target) return 'normal';
    if (layout.readLink('current') !== j.target.manifest.version) return 'normal';
    if (invocationId && j.lastInvocation === invocationId) return 'trial';
    const bootAttempts = j.bootAttempts + 1;
    if (bootAttempts <= this.limits.maxBootAttempts) {
      await journal.save({ ...j, bootAttempts, lastInvocation: invocationId ?? null });
      return 'trial';
    }
    const reason = {
      code: 'APPL_ERR_OTA_HEALTH',
      message: `no healthy start in ${this.limits.maxBootAttempts} attempts`,
    };
    await journal.save({ ...j, phase: 'rolling-back', rollbackReason: reason });
    if (j.from) await layout.setLink('current', j.from);
    await journal.save(
      finish(j, { version: j.target.manifest.version, result: 'rolled-back', error: reason }, new Date()),
    );
    this.log.warn({ version: j.target.manifest.version, from: j.from }, 'rolled back at start: crash loop');
    return 'rolled-back';
  }

  /** Plans and executes until nothing is left (or a restart is asked for). */
  async reconcile(): Promise<'settled' | 'restarting'> {
    let delay = this.o.backoff?.initialMs ?? 1000;
    while (!this.closed && !this.restarting) {
      const step = await this.plan();
      if (step.action === 'noop') return 'settled';
      this.o.onStep?.(step);
      try {
        await this.exec.run(step, this.o.journal.load(), this.currentDesired());
        delay = this.o.backoff?.initialMs ?? 1000;
      } catch (err) {
        this.counters.stepErrors++;
        this.log.warn({ step: step.action, err }, 'update step failed; retrying');
        const j = this.o.journal.load();
        await this.o.reporter
          .report(
            this.exec.status(j, STEP_STATE[step.action] ?? 'idle', {
              error: { code: (err as { code?: string }).code ?? 'APPL_ERR_OTA', message: (err as Error).message },
            }),
            false,
          )
          .catch(() => undefined);
        await this.sleep(delay);
        delay = Math.min(delay * 2, this.o.backoff?.maxMs ?? 300_000);
      }
    }
    return 'restarting';
  }

  /** Runs forever: reconcile, then wait for the next desired message. */
  start(): void {
    if (this.loop) return;
    this.loop = (async () => {
      while (!this.closed && !this.restarting) {
        const seen = this.generation;
        if ((await this.reconcile()) === 'restarting') return;
        if (this.generation !== seen || this.closed) continue;
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = null;
      }
    })().catch((err: unknown) => this.log.error({ err }, 'updater loop ended'));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    await this.loop;
  }

  private currentDesired(): DesiredRelease | null {
    return this.desired === undefined ? (this.o.journal.load().target?.desired ?? null) : this.desired;
  }

  private async plan(): Promise<Step> {
    const j = this.o.journal.load();
    const { layout } = this.o;
    const v = j.target?.manifest.version;
    const current = layout.readLink('current');
    if (this.desired === undefined && j.phase === 'idle' && !(j.outcome && !j.outcome.reported))
      return { action: 'noop' };
    const requires = j.phase === 'downloading' ? j.target?.manifest.requires : undefined;
    return planNext({
      ...(requires ? { box: await this.boxFacts(requires.debian.map((r) => r.package)) } : {}),
      journal: j,
      desired: this.currentDesired(),
      current,
      agentVersion: this.o.agentVersion,
      downloaded: v ? layout.downloadedBytes(v) : 0,
      installed: v ? layout.isInstalled(v) : false,
      freeBytes: await this.o.disk.freeBytes(layout.stateDir),
      now: Date.now(),
      limits: this.limits,
    });
  }

  /** Only asked while a release with requirements waits for its download: dpkg is not run on every step. */
  private async boxFacts(names: string[]): Promise<BoxFacts> {
    let packages: Map<string, string> | null = null;
    if (this.o.packages) {
      try {
        packages = await this.o.packages.installed(names);
      } catch (err) {
        // The planner turns "cannot tell" into a refusal with this reason in the log.
        this.log.warn({ err }, 'cannot list installed packages');
      }
    }
    return { packages, arch: this.o.arch ?? process.arch, nodeAbi: this.o.nodeAbi ?? process.versions.modules };
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }
}

// Performs one planned step: the only place that touches the disk, the
// network and the links. Each step writes the journal before the change it
// makes (so a kill mid-way is finished or undone at the next start) and
// after it (so it is not done twice).
import fs from 'node:fs';
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import {
  DiemcauError,
  desiredReleaseCodec,
  verifyManifest,
  type DesiredRelease,
  type OtaState,
  type OtaStatus,
  type ReleaseManifest,
  type TrustedKey,
} from '@diemcau/shared';
import { finish, type Journal, type JournalFile } from './journal.js';
import type { Layout } from './layout.js';
import type { Step } from './planner.js';
import { download } from './download.js';
import { runHealthGate, type HealthChecks } from './health.js';

export interface Reporter {
  /** `durable` outcomes must reach the fleet even across a restart (the agent's durable queue). */
  report(status: OtaStatus, durable: boolean): Promise<void>;
}

/**
 * Named points where a test can stop the process (kill -9) to prove the
 * journal recovers from there. The agent passes none.
 */
export type Checkpoint =
  | 'download-progress'
  | 'verifying'
  | 'verified'
  | 'unpacked'
  | 'installed'
  | 'switch-started'
  | 'previous-linked'
  | 'switched'
  | 'health-check';

export interface ExecutorDeps {
  layout: Layout;
  journal: JournalFile;
  trustedKeys: readonly TrustedKey[];
  health: HealthChecks;
  healthTimeoutMs: number;
  reporter: Reporter;
  /** Ends the process so the supervisor (systemd) starts what `current` points at. */
  restart: () => Promise<void>;
  logger: Logger;
  checkpoint?: (name: Checkpoint, info?: { fraction?: number }) => Promise<void>;
  /** Runs before the links change (the agent records its peripherals, the health gate's baseline). */
  beforeSwitch?: () => Promise<void>;
  /** Base for relative artifact URLs in the desired release (the fleet URL the box enrolled with). */
  fleetUrl?: string;
  /** Reported to the fleet so communes can be pointed at this box's cache. */
  cacheUrl?: string;
  now?: () => Date;
}

export class OtaExecutor {
  constructor(private readonly d: ExecutorDeps) {}

  private now = (): Date => (this.d.now ? this.d.now() : new Date());
  private checkpoint = async (name: Checkpoint, info?: { fraction?: number }): Promise<void> => {
    if (this.d.checkpoint) await this.d.checkpoint(name, info);
  };

  status(j: Journal, state: OtaState, extra: Partial<OtaStatus> = {}): OtaStatus {
    const t = j.target;
    return {
      v: 1,
      at: this.now().toISOString(),
      state,
      current: this.d.layout.readLink('current') ?? '0.0.0',
      ...(t ? { target: t.manifest.version } : {}),
      ...(t?.desired.rolloutId ? { rolloutId: t.desired.rolloutId } : {}),
      ...(this.d.cacheUrl ? { cacheUrl: this.d.cacheUrl } : {}),
      ...extra,
    };
  }

  private async progress(j: Journal, state: OtaState, extra: Partial<OtaStatus> = {}): Promise<void> {
    // Progress is best effort: a lost progress message is replaced by the next.
    await this.d.reporter.report(this.status(j, state, extra), false).catch(() => undefined);
  }

  async run(step: Step, j: Journal, desired: DesiredRelease | null): Promise<void> {
    const { layout, journal } = this.d;
    const log = this.d.logger;
    switch (step.action) {
      case 'noop':
        return;
      case 'report': {
        const o = j.outcome!;
        const state = o.result;
        const base = this.status({ ...j, target: null }, state);
        await this.d.reporter.report(
          {
            ...base,
            target: o.version,
            ...(o.error ? { error: o.error } : {}),
            ...(o.rolloutId ? { rolloutId: o.rolloutId } : {}),
          },
          true,
        );
        await journal.save({ ...j, outcome: { ...o, reported: true } });
        return;
      }
      case 'accept': {
        // Signature first: a tampered manifest costs no download at all.
        const d = desiredReleaseCodec.check(desired);
        if (!d.ok) throw d.error;
        let manifest;
        try {
          manifest = verifyManifest(d.value.manifest, this.d.trustedKeys);
          if (manifest.version !== d.value.version)
            throw new DiemcauError('APPL_ERR_OTA_SIGNATURE', 'desired version differs from the signed one');
        } catch (err) {
          const e = err instanceof DiemcauError ? err : new DiemcauError('APPL_ERR_OTA_SIGNATURE', String(err));
          log.warn({ version: d.value.version, code: e.code }, e.message);
          // Record the claimed release as failed so it is not fetched again and again.
          const claimed = { desired: d.value, manifest: claimedManifest(d.value) };
          await journal.save(
            finish(
              { ...j, target: claimed },
              { version: d.value.version, result: 'failed', error: { code: e.code, message: e.message } },
              this.now(),
            ),
          );
          return;
        }
        log.info({ version: manifest.version, size: manifest.size }, 'accepted release');
        await journal.save({ ...j, phase: 'downloading', target: { desired: d.value, manifest }, hashFailures: 0 });
        return;
      }
      case 'abandon': {
        log.info({ reason: step.reason }, 'abandoning staged release');
        if (j.target) await layout.removeDownload(j.target.manifest.version);
        await journal.save({ ...j, phase: 'idle', target: null, hashFailures: 0 });
        await layout.prune();
        return;
      }
      case 'fail': {
        log.warn({ code: step.code }, step.message);
        if (j.target) await layout.removeDownload(j.target.manifest.version);
        const error = { code: step.code, message: step.message, ...(step.unmet ? { unmet: step.unmet } : {}) };
        await journal.save(
          finish(j, { version: j.target?.manifest.version ?? 'unknown', result: 'failed', error }, this.now()),
        );
        await layout.prune();
        return;
      }
      case 'download':
        return this.download(j);
      case 'verify':
        return this.verify(j);
      case 'install': {
        const m = j.target!.manifest;
        await this.progress(j, 'installing');
        // 'unpacked': the staging dir is full but not yet renamed into versions/<v>.
        await layout.install(m.version, m.entry, () => this.checkpoint('unpacked'));
        await journal.save({ ...j, phase: 'installed' });
        await this.checkpoint('installed');
        return;
      }
      case 'switch':
        return this.switchTo(j);
      case 'restart':
        log.info({ version: j.target?.manifest.version }, 'restarting into the new version');
        await this.d.restart();
        return;
      case 'health-check': {
        await this.progress(j, 'health-check');
        await this.checkpoint('health-check');
        const result = await runHealthGate(this.d.health, this.d.healthTimeoutMs);
        await journal.save({ ...j, health: result });
        return;
      }
      case 'commit': {
        const v = j.target!.manifest.version;
        await journal.save(finish(j, { version: v, result: 'committed' }, this.now()));
        await layout.prune();
        log.info({ version: v }, 'update committed');
        return;
      }
      case 'rollback':
        return this.rollback(j, step.code, step.message);
    }
  }

  private async download(j: Journal): Promise<void> {
    const t = j.target!;
    const m = t.manifest;
    // After a hash failure, prefer the next source (a bad district cache must not be the only way).
    const urls = t.desired.urls
      .slice(Math.min(j.hashFailures, t.desired.urls.length - 1))
      .map((u) => (this.d.fleetUrl ? new URL(u, this.d.fleetUrl).toString() : u));
    let lastReport = 0;
    let crossed = false;
    await download({
      urls,
      dest: this.d.layout.artifactPath(m.version),
      size: m.size,
      ...(t.desired.bandwidthLimit ? { bandwidthLimit: t.desired.bandwidthLimit } : {}),
      onProgress: async (bytes, total) => {
        const fraction = bytes / total;
        if (fraction - lastReport >= 0.05 || bytes === total) {
          lastReport = fraction;
          await this.progress(j, 'downloading', { progress: { bytes, total } });
        }
        if (!crossed && fraction >= 0.3) {
          crossed = true;
          await this.checkpoint('download-progress', { fraction });
        }
      },
    });
  }

  private async verify(j: Journal): Promise<void> {
    const t = j.target!;
    const m = t.manifest;
    await this.progress(j, 'verifying');
    await this.checkpoint('verifying');
    try {
      // Again, against the keys on this box now: a key revoked since accepting still counts.
      verifyManifest(t.desired.manifest, this.d.trustedKeys);
    } catch (err) {
      const e = err as DiemcauError;
      await this.d.layout.removeDownload(m.version);
      await this.d.journal.save(
        finish(j, { version: m.version, result: 'failed', error: { code: e.code, message: e.message } }, this.now()),
      );
      return;
    }
    const file = this.d.layout.artifactPath(m.version);
    const sha = await sha256File(file);
    if (sha !== m.sha256) {
      this.d.logger.warn({ version: m.version, sha, expected: m.sha256 }, 'artifact hash mismatch; fetching again');
      await this.d.layout.removeDownload(m.version);
      await this.d.journal.save({ ...j, hashFailures: j.hashFailures + 1 });
      return;
    }
    await this.d.layout.syncDownload(m.version);
    await this.d.journal.save({ ...j, phase: 'verified' });
    await this.checkpoint('verified');
  }

  private async switchTo(j: Journal): Promise<void> {
    const { layout, journal } = this.d;
    const v = j.target!.manifest.version;
    // `from` is fixed the first time through; a resumed switch must not take the new version as its origin.
    const from = j.phase === 'switching' ? j.from : layout.readLink('current');
    if (j.phase !== 'switching')
      await this.d.beforeSwitch?.().catch((err: unknown) => this.d.logger.warn({ err }, 'before-switch hook failed'));
    const switching: Journal = { ...j, phase: 'switching', from };
    await journal.save(switching);
    await this.progress(switching, 'switching');
    await this.checkpoint('switch-started');
    if (from && from !== v) await layout.setLink('previous', from);
    await this.checkpoint('previous-linked');
    await layout.setLink('current', v);
    await journal.save({
      ...switching,
      phase: 'trial',
      bootAttempts: 0,
      trialStartedAt: this.now().toISOString(),
      health: null,
    });
    await this.checkpoint('switched');
  }

  private async rollback(j: Journal, code: string, message: string): Promise<void> {
    const { layout, journal } = this.d;
    const v = j.target?.manifest.version ?? 'unknown';
    const rolling: Journal = { ...j, phase: 'rolling-back', rollbackReason: { code, message } };
    await journal.save(rolling);
    this.d.logger.warn({ version: v, from: j.from, code }, `rolling back: ${message}`);
    if (j.from) await layout.setLink('current', j.from);
    await journal.save(finish(rolling, { version: v, result: 'rolled-back', error: { code, message } }, this.now()));
    // The process runs the failed version's code: start again on the restored one.
    await this.d.restart();
  }
}

/** Best-effort parse of an unverified manifest, only to name what failed. */
function claimedManifest(d: DesiredRelease): ReleaseManifest {
  let p: Record<string, unknown> = {};
  try {
    p = JSON.parse(d.manifest.payload) as Record<string, unknown>;
  } catch {
    // keep defaults
  }
  return {
    v: 1,
    version: d.version,
    artifact: 'unknown',
    sha256: typeof p.sha256 === 'string' ? p.sha256 : '',
    size: 1,
    unpackedSize: 0,
    minAgentVersion: '0.0.0',
    created: new Date(0).toISOString(),
    entry: 'unknown',
    native: [],
  };
}

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

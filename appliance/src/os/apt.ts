// The real OS applier: Debian's own tools, run as root. It writes the
// snapshot's sources into a list of its own (the box's sources.list is not
// read: only the snapshot counts), refreshes the indexes, finishes what an
// interrupted run left (dpkg --configure -a), upgrades without questions
// keeping every local configuration file (confold), and compares dpkg's
// package list before and after. apt checks the snapshot's signature against
// the keyrings in the settings; the fleet cannot name a key.
//
// `root` other than '/' points apt and dpkg at a scratch tree (the tests):
// apt's state, cache and status there, dpkg with --root and --admindir.
// Packages with maintainer scripts would be run chrooted there, so the tests
// use packages without them.
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { DiemcauError } from '@diemcau/shared';
import { ProcessRunner } from '../devices/process-runner.js';
import { packageChanges, type OsApplier, type OsApplyRequest, type OsApplyResult } from './applier.js';

export interface AptOsOptions {
  root: string;
  keyrings: readonly string[];
  /** An extra apt configuration file (apt-get -c). */
  aptConfig: string | null;
  /** Where the snapshot's sources list lives. */
  stateDir: string;
  rebootRequiredFile: string;
  log: Logger;
  /** apt-get upgrade of a point release on a slow link takes a while. */
  timeoutMs?: number;
}

const HOUR = 3_600_000;

export class AptOs implements OsApplier {
  readonly kind = 'apt' as const;
  private readonly runner = new ProcessRunner();

  constructor(private readonly o: AptOsOptions) {}

  async apply(req: OsApplyRequest): Promise<OsApplyResult> {
    const { log } = this.o;
    const list = await this.writeSources(req);
    // The image empties /var/log; apt keeps its history there.
    await fs.promises.mkdir(path.join(this.o.root, 'var/log/apt'), { recursive: true });
    const before = await this.installed();
    await this.step('apt-get update', 'apt-get', ['-q', ...this.aptArgs(list), '--error-on=any', 'update']);
    // A power cut in an earlier run leaves packages unpacked but not configured; apt refuses to go on until dpkg finishes them.
    await this.step('dpkg --configure -a', 'dpkg', [
      ...this.dpkgArgs(),
      '--force-confold',
      '--force-confdef',
      '--configure',
      '-a',
    ]);
    // --with-new-pkgs: a kernel update is a new package (linux-image-6.1.0-N); plain upgrade would hold it back. Nothing is removed.
    await this.step('apt-get upgrade', 'apt-get', [
      '-q',
      '-y',
      ...this.aptArgs(list),
      '-o',
      'Dpkg::Options::=--force-confold',
      '-o',
      'Dpkg::Options::=--force-confdef',
      '--with-new-pkgs',
      'upgrade',
    ]);
    const changed = packageChanges(before, await this.installed());
    const rebootRequired = fs.existsSync(this.o.rebootRequiredFile);
    log.info({ snapshot: req.snapshot, changed: changed.length, rebootRequired }, 'OS snapshot applied');
    return { changed, rebootRequired };
  }

  /** Installed packages (name, or name:arch for foreign ones) and their versions. */
  async installed(): Promise<Map<string, string>> {
    const r = await this.runner
      .run('dpkg-query', [...this.admindir(), '-W', '-f=${binary:Package}\\t${Version}\\t${db:Status-Abbrev}\\n'], {
        timeoutMs: 120_000,
      })
      .catch((err: unknown) => {
        throw new DiemcauError('APPL_ERR_OS_APT', `dpkg-query: ${(err as Error).message}`, { cause: err });
      });
    const out = new Map<string, string>();
    for (const line of r.stdout.toString('utf8').split('\n')) {
      const [name, version, status] = line.split('\t');
      // 'ii', 'iU', 'iF'…: wanted installed; 'rc' (removed, config kept) is not installed.
      if (name && version && status?.[1] !== 'n' && status?.[1] !== 'c') out.set(name, version);
    }
    return out;
  }

  private async writeSources(req: OsApplyRequest): Promise<string> {
    await fs.promises.mkdir(path.join(this.o.stateDir, 'sources.list.d'), { recursive: true });
    const keyrings = this.o.keyrings.filter((k) => fs.existsSync(k));
    if (keyrings.length === 0)
      throw new DiemcauError('APPL_ERR_OS_APT', `none of the keyrings exists: ${this.o.keyrings.join(', ')}`);
    // A pinned snapshot outlives the Valid-Until of its Release file (Debian's security suite
    // sets one days ahead): rings take longer than that. What Valid-Until guards against, a replayed old
    // index withholding updates, is what a pinned snapshot is by design, and apt never
    // downgrades, so an old snapshot can only change nothing.
    const options = `signed-by=${keyrings.join(',')} check-valid-until=no`;
    const lines = req.sources.map((s) => `deb [${options}] ${s.uri} ${s.suite} ${s.components.join(' ')}`);
    const file = path.join(this.o.stateDir, 'snapshot.list');
    await fs.promises.writeFile(
      file,
      `# OS snapshot ${req.snapshot}, written by the diemcau agent\n${lines.join('\n')}\n`,
    );
    return file;
  }

  private aptArgs(list: string): string[] {
    const args = this.o.aptConfig ? ['-c', this.o.aptConfig] : [];
    args.push(
      '-o',
      `Dir::Etc::sourcelist=${list}`,
      '-o',
      `Dir::Etc::sourceparts=${path.join(this.o.stateDir, 'sources.list.d')}`,
    );
    if (this.o.root !== '/') {
      const root = this.o.root;
      args.push(
        '-o',
        `Dir=${root}`,
        '-o',
        `Dir::State::status=${path.join(root, 'var/lib/dpkg/status')}`,
        '-o',
        `DPkg::Options::=--root=${root}`,
        '-o',
        `DPkg::Options::=--admindir=${path.join(root, 'var/lib/dpkg')}`,
      );
    }
    return args;
  }

  private dpkgArgs(): string[] {
    return this.o.root === '/' ? [] : [`--root=${this.o.root}`, ...this.admindir()];
  }

  private admindir(): string[] {
    return this.o.root === '/' ? [] : [`--admindir=${path.join(this.o.root, 'var/lib/dpkg')}`];
  }

  private async step(name: string, command: string, args: string[]): Promise<void> {
    // No questions (debconf), no pager for changelogs; apt's own environment otherwise.
    const env = ['DEBIAN_FRONTEND=noninteractive', 'APT_LISTCHANGES_FRONTEND=none', 'NEEDRESTART_MODE=l'];
    try {
      await this.runner.run('env', [...env, command, ...args], {
        timeoutMs: this.o.timeoutMs ?? 2 * HOUR,
        maxStdoutBytes: 64 * 1024 * 1024,
      });
    } catch (err) {
      const stderr = ((err as DiemcauError).details as { stderr?: string } | undefined)?.stderr ?? '';
      const why = stderr
        .split('\n')
        .filter((l) => /^(E|W):/.test(l))
        .slice(-3)
        .join(' ');
      throw new DiemcauError('APPL_ERR_OS_APT', `${name}: ${why || (err as Error).message}`.slice(0, 900), {
        cause: err,
      });
    }
  }

  close(): void {
    this.runner.close();
  }
}

// The simulated OS applier (simulated hardware: the demo, tests): a package
// list in a JSON file stands for dpkg's. Applying a snapshot moves every
// package to a version named after it, so the fleet sees changes to report;
// the kernel among them asks for a reboot, as a real kernel update does.
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '@diemcau/shared';
import { packageChanges, type OsApplier, type OsApplyRequest, type OsApplyResult } from './applier.js';

const START: Record<string, string> = {
  'linux-image-6.1.0-28-amd64': '6.1.119-1',
  chromium: '131.0.6778.85-1~deb12u1',
  libssl3: '3.0.15-1~deb12u1',
  openssl: '3.0.15-1~deb12u1',
};

export class SimulatedOs implements OsApplier {
  readonly kind = 'simulated' as const;
  private readonly file: string;

  constructor(stateDir: string) {
    this.file = path.join(stateDir, 'simulated-packages.json');
  }

  installed(): Map<string, string> {
    try {
      return new Map(Object.entries(JSON.parse(fs.readFileSync(this.file, 'utf8')) as Record<string, string>));
    } catch {
      return new Map(Object.entries(START));
    }
  }

  async apply(req: OsApplyRequest): Promise<OsApplyResult> {
    const before = this.installed();
    const after = new Map([...before].map(([name, v]) => [name, `${v.split('+snap')[0]!}+snap${req.snapshot}`]));
    await fs.promises.mkdir(path.dirname(this.file), { recursive: true });
    await writeFileAtomic(this.file, JSON.stringify(Object.fromEntries(after), null, 2), { fsync: true });
    const changed = packageChanges(before, after);
    return { changed, rebootRequired: changed.some((c) => c.package.startsWith('linux-image-')) };
  }

  close(): void {}
}

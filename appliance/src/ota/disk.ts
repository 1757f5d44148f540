// Free-space probes. The real one asks the filesystem; the fixed one is the
// simulated implementation (tests, demo), chosen by config, so "disk full"
// can be tested without filling a real disk.
import fs from 'node:fs';

export interface DiskProbe {
  freeBytes(dir: string): Promise<number>;
}

export const statfsProbe: DiskProbe = {
  async freeBytes(dir) {
    const s = await fs.promises.statfs(dir);
    return s.bavail * s.bsize;
  },
};

export const fixedProbe = (bytes: number): DiskProbe => ({ freeBytes: async () => bytes });

// Which Debian packages are installed: the real probe asks dpkg-query, the
// listed one reads a file in the same "<package> <version>" lines (simulated
// hardware, tests, the demo). Which one runs is a setting
// (ota.packagesFile), never a fallback: a box whose dpkg cannot be asked
// says so and refuses releases with requirements, it does not guess.
import fs from 'node:fs';
import { execFile } from 'node:child_process';
import { DiemcauError } from '@diemcau/shared';

export interface PackageProbe {
  /** Installed versions of the named packages; a package that is not installed is absent from the map. */
  installed(names: readonly string[]): Promise<Map<string, string>>;
}

/**
 * Parses "<package> <status> <version>" (dpkg-query -W with the format
 * below) or "<package> <version>" lines (a simulated list). Only packages
 * whose status says installed count: a removed package keeps its config
 * files and its line.
 */
export function parsePackageList(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length === 3) {
      if (f[1] === 'ii' || f[1] === 'hi') out.set(f[0]!.replace(/:[a-z0-9]+$/, ''), f[2]!);
    } else if (f.length === 2 && f[0] && !f[0].startsWith('#')) {
      out.set(f[0].replace(/:[a-z0-9]+$/, ''), f[1]!);
    }
  }
  return out;
}

const FORMAT = '${Package} ${db:Status-Abbrev} ${Version}\\n';

export const dpkgProbe = (bin = 'dpkg-query'): PackageProbe => ({
  installed: (names) =>
    new Promise((resolve, reject) => {
      if (names.length === 0) return resolve(new Map());
      // Exit 1 with "no packages found matching X" on stderr when one is unknown: the others are still listed.
      execFile(
        bin,
        ['-W', `-f=${FORMAT}`, '--', ...names],
        { timeout: 30_000, maxBuffer: 1024 * 1024 },
        (err, stdout) => {
          const code = (err as { code?: unknown } | null)?.code;
          if (err && code !== 1)
            return reject(
              new DiemcauError('APPL_ERR_OTA_REQUIREMENTS', `cannot list installed packages with ${bin}`, {
                cause: err,
              }),
            );
          const all = parsePackageList(stdout);
          resolve(new Map([...all].filter(([n]) => names.includes(n))));
        },
      );
    }),
});

/** The simulated list: the file is read at every call, so a test can install a package between two releases. */
export const listedProbe = (file: string): PackageProbe => ({
  async installed(names) {
    let text: string;
    try {
      text = await fs.promises.readFile(file, 'utf8');
    } catch (err) {
      throw new DiemcauError('APPL_ERR_OTA_REQUIREMENTS', `cannot read the simulated package list ${file}`, {
        cause: err,
      });
    }
    const all = parsePackageList(text);
    return new Map([...all].filter(([n]) => names.includes(n)));
  },
});

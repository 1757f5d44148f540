import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// The fleet ships files beside its code (datasets/, public/build/). Where the
// running module sits differs: fleet/src/<area>/x.ts under tsx, one bundle in
// fleet/dist/ in a production build (scripts/build.mjs). Walking up to the
// package's own package.json finds the same folder from both.

const FLEET_PACKAGE = '@diemcau/fleet';
let found: string | undefined;

/** The fleet package's folder, found from this module's location. */
export function fleetPackageDir(): string {
  if (found !== undefined) return found;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (
      fs.existsSync(manifest) &&
      (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: string }).name === FLEET_PACKAGE
    ) {
      found = dir;
      return dir;
    }
    const up = path.dirname(dir);
    if (up === dir)
      throw new Error(`${FLEET_PACKAGE}'s package.json not found above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

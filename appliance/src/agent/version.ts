import fs from 'node:fs';

/** The agent's version, from appliance/package.json (read once at start, not per message). */
export function readAgentVersion(): string {
  // From source: appliance/package.json, two levels up. From a release:
  // versions/<v>/package.json beside the bundled agent.mjs.
  for (const rel of ['./package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(fs.readFileSync(new URL(rel, import.meta.url), 'utf8')) as {
        name?: unknown;
        version?: unknown;
      };
      if (typeof pkg.version === 'string' && (pkg.name === 'diemcau-agent' || pkg.name === '@diemcau/appliance'))
        return pkg.version;
    } catch {
      // Not there: try the next place.
    }
  }
  return '0.0.0';
}

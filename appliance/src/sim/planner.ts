// Pure: which simulated device goes to which site, and where it keeps its data.
// Devices are spread round-robin over the sites, so 10,000 devices over 210
// sites is 47-48 per site and 210 devices is one per site.

export interface SimDevicePlan {
  index: number;
  siteId: string;
  /** Folder name under the simulator's data root. */
  dirName: string;
}

export function planDevices(siteIds: readonly string[], devices: number): SimDevicePlan[] {
  if (siteIds.length === 0) throw new Error('no sites to put devices on');
  return Array.from({ length: devices }, (_, index) => ({
    index,
    siteId: siteIds[index % siteIds.length]!,
    dirName: `device-${String(index).padStart(5, '0')}`,
  }));
}

/**
 * Part `k` of `n` (0-based) of a plan of `total` devices, as the index range
 * [from, to): several simulator processes share one fleet of simulated boxes,
 * each running one part, with sizes differing by at most one.
 */
export function sliceBounds(total: number, k: number, n: number): { from: number; to: number } {
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(k) || k < 0 || k >= n)
    throw new Error(`no slice ${k} of ${n}`);
  return { from: Math.floor((total * k) / n), to: Math.floor((total * (k + 1)) / n) };
}

/** How many devices each site gets: the `uses` of the site's token. */
export function devicesPerSite(plan: readonly SimDevicePlan[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const d of plan) out.set(d.siteId, (out.get(d.siteId) ?? 0) + 1);
  return out;
}

/** Parses a tokens file: JSON `[{ "siteId": "...", "token": "..." }]` or lines `siteId token`. */
export function parseTokensFile(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const add = (siteId: string, token: string): void => {
    const list = out.get(siteId) ?? [];
    list.push(token);
    out.set(siteId, list);
  };
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    const rows = JSON.parse(trimmed) as unknown;
    if (!Array.isArray(rows)) throw new Error('tokens file: expected an array');
    for (const [i, row] of rows.entries()) {
      const r = row as { siteId?: unknown; token?: unknown };
      if (typeof r.siteId !== 'string' || typeof r.token !== 'string')
        throw new Error(`tokens file: entry ${i} needs siteId and token`);
      add(r.siteId, r.token);
    }
    return out;
  }
  for (const [i, line] of trimmed.split('\n').entries()) {
    const l = line.trim();
    if (l === '' || l.startsWith('#')) continue;
    const [siteId, token, ...rest] = l.split(/\s+/);
    if (!siteId || !token || rest.length > 0) throw new Error(`tokens file line ${i + 1}: expected "siteId token"`);
    add(siteId, token);
  }
  return out;
}

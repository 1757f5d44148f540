import { backoffDelay, sleep } from '../backoff.js';

// The few operator calls the simulator makes, as an operator's script would:
// list the sites, mint an enrolment token per site. Transient failures (the
// fleet still starting, 429, 5xx) are retried; anything else is reported.

export interface SiteRow {
  id: string;
  name: string;
  kind: string;
  parentId: string | null;
}

export interface FleetApi {
  listSites(): Promise<SiteRow[]>;
  /** One token that `uses` boxes may enrol with. */
  mintToken(siteId: string, uses: number): Promise<string>;
}

export function fleetApi(fleetUrl: string, adminToken: string, signal?: AbortSignal): FleetApi {
  const base = fleetUrl.replace(/\/+$/, '');
  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      let status = 0;
      let text = '';
      try {
        const res = await fetch(`${base}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${adminToken}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal,
        });
        status = res.status;
        text = await res.text();
        if (res.ok) return JSON.parse(text) as T;
      } catch (err) {
        if (signal?.aborted) throw err;
        text = (err as Error).message;
      }
      const transient = status === 0 || status === 429 || status >= 500;
      if (!transient || attempt >= 8)
        throw new Error(`${method} ${path}: ${status || 'no answer'} ${text.slice(0, 300)}`);
      await sleep(backoffDelay(attempt, { initialMs: 250, maxMs: 5000, factor: 2 }), signal);
    }
  }
  return {
    async listSites() {
      const r = await call<{ items: SiteRow[] }>('GET', '/api/v1/sites');
      return r.items;
    },
    async mintToken(siteId, uses) {
      const r = await call<{ token: string }>('POST', `/api/v1/sites/${encodeURIComponent(siteId)}/enrollment-tokens`, {
        uses,
      });
      return r.token;
    },
  };
}

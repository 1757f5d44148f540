// HTTP access to the fleet's API with the operator's bearer token. A 401 means
// the token is gone (revoked, or the server forgot it): the app signs out.

// The fleet's not-found handler names the method and path of a route it lacks.
const ROUTE_MISSING = /(GET|POST|PUT|PATCH|DELETE) \/api\//;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: string,
    /** The error's `details`, where the fleet gives them (a conflict's `reason`, the sites outside an area). */
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
  /** The server does not have this route (yet): the page hides the feature. */
  get unsupported(): boolean {
    return (
      this.status === 404 &&
      (this.code === undefined || this.code === 'FST_ERR_NOT_FOUND' || ROUTE_MISSING.test(this.message))
    );
  }
}

export interface Api {
  get<T>(path: string, signal?: AbortSignal): Promise<T>;
  post<T>(path: string, body: unknown): Promise<T>;
  del<T>(path: string): Promise<T>;
  readonly token: string;
}

interface ErrorBody {
  message?: string;
  code?: string;
  details?: unknown;
  error?: string;
}

export function createApi(token: string, onUnauthorized: () => void, base = ''): Api {
  async function call<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(base + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
    if (res.status === 401) onUnauthorized();
    if (!res.ok) {
      let info: ErrorBody = {};
      try {
        info = (await res.json()) as ErrorBody;
      } catch {
        /* not JSON */
      }
      // A 404 on a route that exists carries the fleet's own error code; a
      // missing route carries fastify's (or none).
      const code = info.code ?? (info.message?.startsWith('Route ') ? 'FST_ERR_NOT_FOUND' : undefined);
      throw new ApiError(res.status, info.message ?? info.error ?? res.statusText, code, info.details);
    }
    if (res.status === 204) return undefined as T;
    return (await res.json()) as T;
  }
  return {
    token,
    get: (path, signal) => call('GET', path, undefined, signal),
    post: (path, body) => call('POST', path, body),
    del: (path) => call('DELETE', path),
  };
}

/** Lists come as `{ items: [...] }`; tolerate a bare array too. */
export function items<T>(body: { items: T[] } | T[]): T[] {
  return Array.isArray(body) ? body : body.items;
}

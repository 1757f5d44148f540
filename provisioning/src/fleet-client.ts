// A small client for the fleet API, as an operator's laptop uses it.
export class FleetApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    const b = body as { code?: string; message?: string } | null;
    super(`fleet answered ${status}${b?.code ? ` ${b.code}` : ''}: ${b?.message ?? JSON.stringify(body)}`);
    this.name = 'FleetApiError';
  }
}

export class FleetClient {
  constructor(
    private readonly baseUrl: string,
    private readonly operatorToken: string,
  ) {}

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(new URL(path, this.baseUrl), {
      method,
      headers: {
        authorization: `Bearer ${this.operatorToken}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // Not JSON: keep the text for the error message.
    }
    if (!res.ok) throw new FleetApiError(res.status, parsed);
    return parsed as T;
  }
}

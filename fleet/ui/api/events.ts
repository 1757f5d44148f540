// The live feed: GET /api/v1/events as server-sent events. Read with fetch, not
// EventSource, because EventSource cannot send the Authorization header and a
// token in the URL would end up in logs. Reconnects with backoff; the caller
// reloads its snapshot on every (re)connect so nothing missed stays missing.
import type { FleetEvent } from './types.js';

export interface EventFeed {
  close(): void;
}

export interface FeedHandlers {
  onEvent(e: FleetEvent): void;
  onOpen(): void;
  onDown(): void;
  onUnauthorized(): void;
}

export function openEventFeed(token: string, h: FeedHandlers, path = '/api/v1/events'): EventFeed {
  let closed = false;
  let ctrl: AbortController | null = null;
  let delay = 1000;
  let timer: ReturnType<typeof setTimeout> | undefined;

  async function connect(): Promise<void> {
    ctrl = new AbortController();
    try {
      const res = await fetch(path, {
        headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
        signal: ctrl.signal,
      });
      if (res.status === 401) {
        h.onUnauthorized();
        return;
      }
      if (!res.ok || !res.body) throw new Error(`events: HTTP ${res.status}`);
      delay = 1000;
      h.onOpen();
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let cut: number;
        while ((cut = buf.indexOf('\n\n')) >= 0) {
          dispatch(buf.slice(0, cut));
          buf = buf.slice(cut + 2);
        }
      }
    } catch {
      /* network gone or aborted: handled below */
    }
    if (closed) return;
    h.onDown();
    timer = setTimeout(() => void connect(), delay);
    delay = Math.min(delay * 2, 15_000);
  }

  function dispatch(block: string): void {
    const data = block
      .split('\n')
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).trimStart())
      .join('\n');
    if (!data) return; // a comment line (keep-alive)
    try {
      h.onEvent(JSON.parse(data) as FleetEvent);
    } catch {
      /* one bad message must not stop the feed */
    }
  }

  void connect();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      ctrl?.abort();
    },
  };
}

// The dashboard's live feed (GET /api/v1/events, server-sent events) read over
// real HTTP into an array, until stopped.
import type { UiEvent } from '../../src/ui/ui-events.js';

export function readEvents(baseUrl: string, token: string): { events: UiEvent[]; stop(): Promise<void> } {
  const events: UiEvent[] = [];
  const ctrl = new AbortController();
  const done = (async () => {
    const res = await fetch(`${baseUrl}/api/v1/events`, {
      headers: { authorization: `Bearer ${token}` },
      signal: ctrl.signal,
    });
    if (!res.ok || !res.body) throw new Error(`events: ${res.status}`);
    const dec = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of res.body) {
        buf += dec.decode(chunk as Uint8Array, { stream: true });
        let cut: number;
        while ((cut = buf.indexOf('\n\n')) >= 0) {
          const data = buf
            .slice(0, cut)
            .split('\n')
            .find((l) => l.startsWith('data: '));
          buf = buf.slice(cut + 2);
          if (data) events.push(JSON.parse(data.slice(6)) as UiEvent);
        }
      }
    } catch {
      // aborted by stop()
    }
  })();
  return {
    events,
    stop: async () => {
      ctrl.abort();
      await done;
    },
  };
}

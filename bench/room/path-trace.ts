// Timestamps along a speaker switch's path, for bench:room with BENCH_TRACE=1:
// on every router of the cascade, when each video producer (a room's camera,
// or its copy piped in from a neighbour) sent a keyframe request upstream
// (PLI/FIR out), received a keyframe, and was resumed. Read from mediasoup's
// own trace events through its global observer, so the edges run unchanged.
// One line per switch: where the time between the core's decision and the
// picture at the farthest TV went (a late keyframe, a slow resume hop).
import * as mediasoup from 'mediasoup';

interface Mark {
  t: number;
  router: string;
  siteId: string;
  what: 'request' | 'keyframe' | 'resume';
}

export class PathTrace {
  private readonly marks: Mark[] = [];
  private readonly names = new Map<string, string>();

  /** Routers are named in the order they are made (`order`: the edges' start order). */
  constructor(order: readonly string[]) {
    let made = 0;
    mediasoup.observer.on('newworker', (w) =>
      w.observer.on('newrouter', (r) => {
        this.names.set(r.id, order[made++] ?? r.id);
        r.observer.on('newtransport', (tr) =>
          tr.observer.on('newproducer', (p) => {
            const info = p.appData as { siteId?: string; layer?: string };
            if (p.kind !== 'video' || info.layer === 'small' || !info.siteId) return;
            const mark = (what: Mark['what']) =>
              this.marks.push({ t: performance.now(), router: this.names.get(r.id)!, siteId: info.siteId!, what });
            void p.enableTraceEvent(['keyframe', 'pli', 'fir']).catch(() => {});
            p.on('trace', (e) => {
              if (e.type === 'keyframe' && e.direction === 'in') mark('keyframe');
              if ((e.type === 'pli' || e.type === 'fir') && e.direction === 'out') mark('request');
            });
            p.observer.on('resume', () => mark('resume'));
          }),
        );
      }),
    );
  }

  /** Per router, in path order: first resume, first request and first keyframe after `from` (ms after it). */
  summary(siteId: string, from: number, path: readonly string[]): string {
    const first = (router: string, what: Mark['what']): string => {
      const m = this.marks.find((x) => x.router === router && x.siteId === siteId && x.what === what && x.t >= from);
      return m ? String(Math.round(m.t - from)) : '-';
    };
    return path
      .map((r) => `${r} resume ${first(r, 'resume')} request ${first(r, 'request')} keyframe ${first(r, 'keyframe')}`)
      .join(' | ');
  }

  /** Drops what is older than `before`, so a long run holds little. */
  prune(before: number): void {
    const keep = this.marks.filter((m) => m.t >= before);
    this.marks.length = 0;
    this.marks.push(...keep);
  }
}

// Who is in the meeting, as small data. Streams cross a link only while
// someone beyond it receives them (forwarding.ts), so an edge no longer learns
// the roster from the streams it holds. Instead every edge sends up the roster
// of its side of the cascade (its own room and what its downstream links
// reported), and sends down the meeting's whole roster (the host's view, as
// its upstream passed it on). One entry per site: about 40 bytes, 9 KB for
// 210 sites, sent when it changes and at most every ROSTER_DEBOUNCE_MS.
import type { Logger } from 'pino';

export interface RosterEntry {
  siteId: string;
  /** Its microphone is open (flowing at its source). */
  mic: boolean;
  /** It has a camera in the meeting (shown or not). */
  camera: boolean;
}

/** How long changes gather before the roster is sent on (a roll call opens 210 microphones at once). */
export const ROSTER_DEBOUNCE_MS = 200;

/** The roster of streams held at their source (the local room, browsers joined here). */
export function rosterOf(
  streams: Iterable<{ kind: 'audio' | 'video'; siteId: string; paused: boolean }>,
): RosterEntry[] {
  const by = new Map<string, RosterEntry>();
  for (const s of streams) {
    const e = by.get(s.siteId) ?? { siteId: s.siteId, mic: false, camera: false };
    if (s.kind === 'audio') e.mic ||= !s.paused;
    else e.camera = true;
    by.set(s.siteId, e);
  }
  return [...by.values()];
}

/** One roster from several, sorted by site; for a site in several, the later list wins. */
export function mergeRosters(...lists: ReadonlyArray<readonly RosterEntry[]>): RosterEntry[] {
  const by = new Map<string, RosterEntry>();
  for (const l of lists) for (const e of l) by.set(e.siteId, e);
  return [...by.values()].sort((a, b) => (a.siteId < b.siteId ? -1 : a.siteId > b.siteId ? 1 : 0));
}

export function sameRoster(a: readonly RosterEntry[], b: readonly RosterEntry[]): boolean {
  return (
    a.length === b.length &&
    a.every((e, i) => e.siteId === b[i]!.siteId && e.mic === b[i]!.mic && e.camera === b[i]!.camera)
  );
}

export interface RosterRelayOptions {
  /** The host has no upstream: its side of the cascade is the whole meeting. */
  isHost: boolean;
  /** The roster of the sites whose streams start at this edge. */
  local(): RosterEntry[];
  sendUp(entries: RosterEntry[]): void;
  sendDown(entries: RosterEntry[]): void;
  log: Logger;
}

/**
 * One edge's part in passing the roster along: what came up from each
 * downstream link, what came down from the upstream, and what was last sent
 * either way. No I/O of its own: the room gives it the links' send functions.
 */
export class RosterRelay {
  private readonly below = new Map<string, RosterEntry[]>();
  private above: RosterEntry[] = [];
  private sentUp: RosterEntry[] | null = null;
  private sentDown: RosterEntry[] | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly o: RosterRelayOptions) {}

  /** This edge's side of the cascade: its own sites and every site below it. */
  subtree(): RosterEntry[] {
    return mergeRosters(...this.below.values(), this.o.local());
  }

  /** The whole meeting as this edge knows it; its own side is fresher than what came down. */
  meeting(): RosterEntry[] {
    return this.o.isHost ? this.subtree() : mergeRosters(this.above, this.subtree());
  }

  /** A downstream link reported its side (or, with null, went away). */
  fromBelow(linkId: string, entries: RosterEntry[] | null): void {
    if (entries) this.below.set(linkId, entries);
    else this.below.delete(linkId);
    this.changed();
  }

  /** The upstream sent the meeting's roster. */
  fromAbove(entries: RosterEntry[]): void {
    this.above = entries;
    this.changed();
  }

  /** A new upstream link: it hears our side anew. (A new downstream link is sent meeting() by the room.) */
  upstreamLinked(): void {
    this.sentUp = null;
    this.changed();
  }

  /** Something changed: send what differs, soon, once. */
  changed(): void {
    if (this.closed || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, ROSTER_DEBOUNCE_MS);
  }

  private flush(): void {
    if (this.closed) return;
    if (!this.o.isHost) {
      const up = this.subtree();
      if (!this.sentUp || !sameRoster(up, this.sentUp)) {
        this.sentUp = up;
        this.o.sendUp(up);
      }
    }
    const down = this.meeting();
    if (!this.sentDown || !sameRoster(down, this.sentDown)) {
      this.sentDown = down;
      this.o.sendDown(down);
      this.o.log.debug({ sites: down.length }, 'roster sent on');
    }
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }
}

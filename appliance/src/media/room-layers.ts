// A meeting room's layer choices (layers.ts) at run time: which picture of
// each camera crosses each link, and which one each browser here gets. Kept
// apart from the room's forwarding (forwarding.ts flows(): whose cameras
// cross at all) so that the two decisions stay separate: a stream crosses a
// link when it flows and this says its layer is wanted there.
import type { MediaMeeting } from '@diemcau/shared';
import type { Stream } from './adapter/index.js';
import { layerOf, linkCarries, linkNeeds, receiverPicks, type LinkNeeds, type View } from './layers.js';
import type { Layout } from './layout.js';
import type { PipeBridge } from './link/bridge.js';

/** What the choices are made from: the room's current state, read when needed. */
export interface LayerSource {
  meeting(): MediaMeeting;
  speakers(): readonly string[];
  featured(): ReadonlySet<string>;
  streams(): Iterable<Stream>;
  /** What this room's TV shows now. */
  layout(): Pick<Layout, 'large'>;
  /** The links, to settle again when a small picture comes or goes. */
  bridges(): Iterable<PipeBridge>;
  /** Lets each browser here have the picture picked for it. */
  applyPeers(): void;
  closed(): boolean;
}

export class RoomLayers {
  /** Per link, the layers its viewers show, worked out again when forwarding changes. */
  private readonly needs = new Map<PipeBridge, LinkNeeds>();
  private queued = false;

  constructor(private readonly src: LayerSource) {}

  /** Of a stream that flows, whether its layer crosses this link. Always true for sound. */
  carries(stream: Stream, via: PipeBridge): boolean {
    if (stream.kind === 'audio') return true;
    const site = stream.info.siteId;
    return linkCarries(this.linkNeeds(via), site, layerOf(stream.info), this.hasSmall(site));
  }

  /** Forwarding changed (speakers, chair controls, plan): every link's needs are worked out again. */
  invalidate(): void {
    this.needs.clear();
    this.queuePeers();
  }

  forget(bridge: PipeBridge): void {
    this.needs.delete(bridge);
  }

  // Which layer each browser here gets depends on what flows in; and a camera's
  // small picture arriving or going changes whether its full one must stand in
  // for it on the links (linkCarries).
  watch(stream: Stream): void {
    if (stream.kind !== 'video') return;
    for (const ev of ['pause', 'resume', 'close'] as const) stream.events.on(ev, () => this.queuePeers());
    this.queuePeers();
    if (layerOf(stream.info) === 'small') {
      const resettle = (): void => {
        if (!this.src.closed()) for (const b of this.src.bridges()) void b.refresh();
      };
      stream.events.on('close', resettle);
      setImmediate(resettle);
    }
  }

  /** Per site, the video stream a browser of this view gets now. */
  picks(view: View): Map<string, string> {
    const video = [...this.src.streams()]
      .filter((s) => s.kind === 'video')
      .map((s) => ({ id: s.id, siteId: s.info.siteId, layer: layerOf(s.info), paused: s.paused }));
    return receiverPicks(view, this.src.layout(), video);
  }

  private linkNeeds(via: PipeBridge): LinkNeeds {
    let n = this.needs.get(via);
    if (!n) {
      // Down a link: the TVs of the sites the plan puts behind it. Up, or none named: unknown, both layers.
      const m = this.src.meeting();
      const named =
        via.direction === 'up' ? undefined : (m.downstream ?? []).find((d) => d.edgeId === via.peerEdgeId)?.siteIds;
      const viewers = named && named.length > 0 ? named : null;
      n = linkNeeds(m, this.src.speakers(), this.src.featured(), viewers);
      this.needs.set(via, n);
    }
    return n;
  }

  private hasSmall(siteId: string): boolean {
    for (const s of this.src.streams())
      if (s.kind === 'video' && s.info.siteId === siteId && layerOf(s.info) === 'small') return true;
    return false;
  }

  // Many streams change at once (a speaker change resumes and pauses several): one pass after them.
  private queuePeers(): void {
    if (this.queued || this.src.closed()) return;
    this.queued = true;
    setImmediate(() => {
      this.queued = false;
      if (!this.src.closed()) this.src.applyPeers();
    });
  }
}

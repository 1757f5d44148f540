// Meetings as the API and the other areas see them: create, read, chair
// controls, end, and "is this site busy". Decisions are in cascade.ts,
// schedule.ts and media-planner.ts; this file gathers the facts, stores, and
// hands the desired per-edge plans to the publisher.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import {
  DiemcauError,
  MAX_REVOKED_LINKS,
  indexSites,
  joinKeyPair,
  joinPublicKey,
  newJoinLinkId,
  signJoinLink,
  type JoinClaimRole,
  type JoinClaims,
  type JoinRole,
  type Site,
  type SiteIndex,
} from '@diemcau/shared';
import { describeArea, mayAct, outsideScope, siteScopeOf, type AccessSubject } from '../access.js';
import { planCascade, type CascadePlan, type EdgeDirectory } from './cascade.js';
import type { MeetingsConfig } from './config.js';
import { linkTokens, mediaPlans, type PlannedMeeting } from './media-planner.js';
import { effectiveEnd, meetingState, type MeetingRecord } from './model.js';
import type { PlanPublisher } from './publisher.js';
import type { MeetingsRepo } from './repository.js';
import type { JoinLinkRecord, JoinLinksRepo } from './join-links-repo.js';
import { busyMeetingForSite, checkSchedule, describeProblems, type TimedPlan } from './schedule.js';

const MINUTE = 60_000;

/** The parts of an operator the meetings area looks at (the spine's Operator fits; access.ts reads role and area). */
export interface MeetingOperator extends AccessSubject {
  id: string;
  name?: string;
}

export interface MeetingPorts {
  sites(): readonly Site[];
  /** The hierarchy with the dataset's relay groups (the cascade follows them); absent: indexed from sites(), groups derived. */
  siteIndex?(): SiteIndex;
  /** Enrolled, not revoked devices. */
  devices(): Promise<readonly { id: string; siteId: string }[]>;
}

export interface CreateMeeting {
  title: string;
  chairSiteId: string;
  siteIds: string[];
  /** ISO time; now when absent. */
  startsAt?: string;
  durationMin?: number;
}

/** A participant as the cascade places it (see MeetingService.paths). */
export interface MeetingPath {
  siteId: string;
  deviceId: string | null;
  upstream: { edgeId: string; signalUrl: string | null; token: string } | null;
}

export type ChairControl =
  | { action: 'mute-all'; muted: boolean }
  /** `participantId`: the browser participant whose request to speak this grants (requests.ts), if any. */
  | { action: 'floor'; siteId: string | null; participantId?: string | null }
  | { action: 'roll-call'; siteId: string | null };

/** A join link as the API answers it (join-links.ts in the routes). */
export interface IssuedJoinLink {
  link: string;
  /** The join page on the site's edge with the link in it; null while the edge has announced no address. */
  url: string | null;
  claims: JoinClaims;
  edgeId: string | null;
}

/** Longest a join link may live; it never outlives its meeting either. */
export const MAX_JOIN_LINK_MIN = 24 * 60;

/**
 * How long the chair's roll-call picture link lives: a console open longer
 * asks for a fresh one when its edge says the link expired. Short, so a link
 * copied out of the page is soon worth nothing.
 */
export const MONITOR_LINK_MIN = 15;

/**
 * Links one meeting may be issued (every kind, revoked and expired ones
 * included): far above what operators hand out and what a day of roll calls
 * asks for, and a bound on what its listing returns.
 */
export const MAX_JOIN_LINKS_PER_MEETING = 2000;

/** A link as its listing shows it: its id and what it is for, never the link. */
export interface JoinLinkView extends JoinLinkRecord {
  state: 'active' | 'expired' | 'revoked';
}

export class MeetingService {
  private readonly tokenFor: (meetingId: string, edgeId: string) => string;
  private readonly urls: Map<string, string>;
  /** The join-link key (PKCS#8 PEM) and its public half, which every edge's plan carries. */
  private readonly joinKey: { privateKeyPem: string; publicKeyPem: string };
  private readonly syncListeners = new Set<(published: readonly string[]) => void>();

  private constructor(
    private readonly cfg: MeetingsConfig,
    private readonly repo: MeetingsRepo,
    private readonly links: JoinLinksRepo,
    private readonly publisher: PlanPublisher,
    private readonly ports: MeetingPorts,
    private readonly log: Logger,
    private readonly now: () => number,
    /** Called after every pass (the timer re-aims at the next transition). */
    private readonly afterSync: () => void,
    stored: { tokenKey: string; joinKey: string; urls: Map<string, string> },
  ) {
    this.tokenFor = linkTokens(stored.tokenKey);
    this.urls = stored.urls;
    this.joinKey = { privateKeyPem: stored.joinKey, publicKeyPem: joinPublicKey(stored.joinKey) };
  }

  /** Loads the link-token and join-link keys (made on first start) and the edges' announced URLs. */
  static async open(
    cfg: MeetingsConfig,
    repo: MeetingsRepo,
    links: JoinLinksRepo,
    publisher: PlanPublisher,
    ports: MeetingPorts,
    log: Logger,
    now: () => number,
    afterSync: () => void = () => {},
  ): Promise<MeetingService> {
    const tokenKey = await repo.secret('link-token-key', () => randomBytes(32).toString('base64url'));
    // Kept in the registry like the link-token key: every fleet node signs with the same one.
    const joinKey = await repo.secret('join-link-key', () => joinKeyPair().privateKeyPem);
    return new MeetingService(cfg, repo, links, publisher, ports, log, now, afterSync, {
      tokenKey,
      joinKey,
      urls: await repo.mediaUrls(),
    });
  }

  /**
   * site → edge: the site's box. When a site has several, one that announced a
   * media edge (a spare box without one cannot host the room) and then the
   * lowest device id, so the choice is stable.
   */
  async directory(): Promise<EdgeDirectory> {
    const edgeOfSite = new Map<string, string>();
    // Each device's rank once, not per comparison: this runs over the whole fleet every reconcile.
    const ranked = (await this.ports.devices()).map((d) => ({ d, rank: `${this.urls.has(d.id) ? 0 : 1}${d.id}` }));
    for (const { d } of ranked.sort((a, b) => (a.rank < b.rank ? -1 : 1))) {
      if (!edgeOfSite.has(d.siteId)) edgeOfSite.set(d.siteId, d.id);
    }
    return { coreEdgeId: this.cfg.coreEdgeId, edgeOfSite };
  }

  plan(
    m: Pick<MeetingRecord, 'id' | 'chairSiteId' | 'siteIds'>,
    edges: EdgeDirectory,
    index = this.siteIndex(),
  ): CascadePlan {
    return planCascade(index, edges, { id: m.id, chairSiteId: m.chairSiteId, siteIds: m.siteIds });
  }

  async create(op: MeetingOperator, input: CreateMeeting): Promise<{ meeting: MeetingRecord; plan: CascadePlan }> {
    const now = this.now();
    const index = this.siteIndex();
    const siteIds = [...new Set([input.chairSiteId, ...input.siteIds])].sort();
    if (siteIds.length > this.cfg.maxSitesPerMeeting) {
      throw new DiemcauError(
        'FLEET_ERR_BAD_REQUEST',
        `${siteIds.length} sites, at most ${this.cfg.maxSitesPerMeeting} in one meeting`,
      );
    }
    const startsAt = input.startsAt === undefined ? now : Date.parse(input.startsAt);
    if (startsAt < now - MINUTE) throw new DiemcauError('FLEET_ERR_BAD_REQUEST', 'startsAt is in the past');
    const durationMin = input.durationMin ?? this.cfg.defaultDurationMin;
    if (durationMin > this.cfg.maxDurationMin) {
      throw new DiemcauError('FLEET_ERR_BAD_REQUEST', `durationMin ${durationMin} is above ${this.cfg.maxDurationMin}`);
    }
    const id = `mtg-${randomBytes(8).toString('hex')}`;
    const edges = await this.directory();
    const plan = planCascade(index, edges, { id, chairSiteId: input.chairSiteId, siteIds }); // unknown sites throw here
    this.assertMayAct(op, index, siteIds);

    const meeting: MeetingRecord = {
      id,
      title: input.title,
      chairSiteId: input.chairSiteId,
      siteIds,
      startsAt,
      endsAt: startsAt + durationMin * MINUTE,
      endedAt: null,
      mutedAll: false,
      floorSiteId: null,
      floorParticipantId: null,
      rollCallSiteId: null,
      createdAt: now,
      createdBy: op.id,
    };
    // The check and the insert are one step for the store: two fleet nodes (or two requests) creating
    // meetings at the same moment take turns, so the second sees the first and no site is booked twice.
    await this.repo.scheduling(async () => {
      const existing: TimedPlan[] = (await this.repo.inWindow(meeting.startsAt, meeting.endsAt)).flatMap((m) => {
        try {
          return [{ meetingId: m.id, startsAt: m.startsAt, endsAt: effectiveEnd(m), plan: this.plan(m, edges, index) }];
        } catch {
          return []; // a site of that meeting left the registry; sync() logs it
        }
      });
      const problems = checkSchedule(
        existing,
        { meetingId: id, startsAt: meeting.startsAt, endsAt: meeting.endsAt, plan },
        this.cfg.capacity,
        this.cfg.coreEdgeId,
      );
      if (problems.length > 0) {
        const code = problems.some((p) => p.kind === 'site-conflict')
          ? 'FLEET_ERR_MEETING_SITE_BUSY'
          : 'FLEET_ERR_MEETING_CAPACITY';
        throw new DiemcauError(code, describeProblems(problems), { details: { problems } });
      }
      await this.repo.insert(meeting);
    });
    this.log.info(
      { meetingId: id, sites: siteIds.length, host: plan.hostEdgeId, links: plan.links.length },
      'meeting created',
    );
    await this.sync();
    return { meeting, plan };
  }

  /**
   * A join link for one site of a meeting: the operator must have that site in
   * scope, the meeting must not have ended, and the link expires after
   * `ttlMin` or when the meeting is planned to end, whichever comes first.
   */
  async joinLink(
    op: MeetingOperator,
    id: string,
    req: { siteId: string; role: JoinRole; ttlMin: number },
  ): Promise<IssuedJoinLink> {
    const m = await this.get(op, id);
    const now = this.now();
    if (meetingState(m, now) === 'ended') throw new DiemcauError('FLEET_ERR_MEETING_ENDED', id);
    if (!m.siteIds.includes(req.siteId))
      throw new DiemcauError('FLEET_ERR_BAD_REQUEST', `site ${req.siteId} is not in meeting ${id}`);
    this.assertMayAct(op, this.siteIndex(), [req.siteId]);
    if (req.ttlMin > MAX_JOIN_LINK_MIN)
      throw new DiemcauError('FLEET_ERR_BAD_REQUEST', `ttlMin ${req.ttlMin} is above ${MAX_JOIN_LINK_MIN}`);
    return this.issueLink(op, m, req.siteId, req.role, req.ttlMin);
  }

  /**
   * The chair's roll-call picture: a `monitor` link on the chairing site's
   * edge (which receives the called site, as every TV does during a roll
   * call). Only an operator who may chair the meeting gets one (the chairing
   * site in scope, as for every chair control), only while the meeting is live
   * and a roll call runs; the edge then lets it receive the called site's
   * picture and nothing else (appliance/src/media/monitor.ts).
   */
  async rollCallPicture(op: MeetingOperator, id: string): Promise<IssuedJoinLink & { calledSiteId: string }> {
    const m = await this.openMeeting(op, id);
    if (meetingState(m, this.now()) !== 'live')
      throw new DiemcauError('FLEET_ERR_CONFLICT', `meeting ${id} has not started`, {
        details: { reason: 'meeting-not-live' },
      });
    if (m.rollCallSiteId === null)
      throw new DiemcauError('FLEET_ERR_CONFLICT', `no roll call is running in meeting ${id}`, {
        details: { reason: 'no-roll-call' },
      });
    // The console asks again when its link expires or its page reloads: the
    // link it had is then worth nothing, so it is revoked (another operator's
    // console keeps its own).
    const previous = (await this.links.ofMeeting(m.id)).filter(
      (l) => l.role === 'monitor' && l.issuedBy === op.id && this.linkState(l, m) === 'active',
    );
    await this.revokeLinks(m, previous, op.id);
    const issued = await this.issueLink(op, m, m.chairSiteId, 'monitor', MONITOR_LINK_MIN);
    if (previous.length > 0) await this.sync();
    return { ...issued, calledSiteId: m.rollCallSiteId };
  }

  /**
   * The meeting's issued links the operator may see: those of the sites it may
   * issue links for, and those it issued itself. Viewers issue none, so see none.
   */
  async joinLinks(op: MeetingOperator, id: string): Promise<JoinLinkView[]> {
    const m = await this.get(op, id);
    if (!mayAct(op))
      throw new DiemcauError('FLEET_ERR_FORBIDDEN', `role ${op.role} cannot issue join links (viewers only read)`);
    const index = this.siteIndex();
    return (await this.links.ofMeeting(m.id))
      .filter((l) => l.issuedBy === op.id || outsideScope(index, op, [l.siteId]).length === 0)
      .map((l) => ({ ...l, state: this.linkState(l, m) }));
  }

  /**
   * Revokes one link: the plans of the link's edge then list it, and the edge
   * refuses it and closes the browsers that joined with it. Scoped like
   * issuing (or its issuer); revoking a revoked link changes nothing.
   */
  async revokeJoinLink(op: MeetingOperator, id: string, jti: string): Promise<JoinLinkView> {
    const m = await this.get(op, id);
    const link = await this.links.get(m.id, jti);
    if (!link) throw new DiemcauError('FLEET_ERR_NOT_FOUND', `join link ${jti} of meeting ${id}`);
    if (link.issuedBy !== op.id) this.assertMayAct(op, this.siteIndex(), [link.siteId]);
    else if (!mayAct(op)) throw new DiemcauError('FLEET_ERR_FORBIDDEN', `role ${op.role} cannot revoke join links`);
    if (link.revokedAt === null) {
      await this.revokeLinks(m, [link], op.id);
      await this.sync();
    }
    const now = await this.links.get(m.id, jti);
    return { ...now!, state: this.linkState(now!, m) };
  }

  /** A link dies with its meeting too: one ended early lists its links as expired. */
  private linkState(l: JoinLinkRecord, m: MeetingRecord): JoinLinkView['state'] {
    if (l.revokedAt !== null) return 'revoked';
    return Math.min(l.expiresAt, effectiveEnd(m)) <= this.now() ? 'expired' : 'active';
  }

  /**
   * Marks the links revoked; the caller publishes (sync). A plan carries at
   * most MAX_REVOKED_LINKS unexpired revoked links per site, and a list cut
   * short would let a revoked link in again: past that, the revocation is
   * refused and says what to do.
   */
  private async revokeLinks(m: MeetingRecord, links: readonly JoinLinkRecord[], by: string): Promise<void> {
    const now = this.now();
    const live = links.filter((l) => l.revokedAt === null && l.expiresAt > now);
    for (const siteId of new Set(live.map((l) => l.siteId))) {
      const adding = live.filter((l) => l.siteId === siteId).length;
      if ((await this.links.revokedLive(m.id, siteId, now)) + adding > MAX_REVOKED_LINKS) {
        throw new DiemcauError(
          'FLEET_ERR_CONFLICT',
          `site ${siteId} already has ${MAX_REVOKED_LINKS} revoked join links that have not expired; end the meeting to close them all`,
          { details: { reason: 'too-many-revoked-links' } },
        );
      }
    }
    if (links.length === 0) return;
    await this.links.revoke(
      links.map((l) => l.jti),
      by,
      now,
    );
    this.log.info({ meetingId: m.id, jtis: links.map((l) => l.jti), by }, 'join links revoked');
  }

  private async issueLink(
    op: MeetingOperator,
    m: MeetingRecord,
    siteId: string,
    role: JoinClaimRole,
    ttlMin: number,
  ): Promise<IssuedJoinLink> {
    const now = this.now();
    if ((await this.links.count(m.id)) >= MAX_JOIN_LINKS_PER_MEETING) {
      throw new DiemcauError('FLEET_ERR_CONFLICT', `meeting ${m.id} has had ${MAX_JOIN_LINKS_PER_MEETING} join links`, {
        details: { reason: 'too-many-join-links' },
      });
    }
    const claims: JoinClaims = {
      v: 1,
      meetingId: m.id,
      siteId,
      role,
      iat: Math.floor(now / 1000),
      exp: Math.floor(Math.min(now + ttlMin * MINUTE, effectiveEnd(m)) / 1000),
      jti: newJoinLinkId(),
    };
    const link = signJoinLink(claims, this.joinKey.privateKeyPem);
    // Kept by its id, never the link: what the listing shows and a revocation names.
    await this.links.insert({
      jti: claims.jti,
      meetingId: m.id,
      siteId,
      role,
      issuedAt: claims.iat * 1000,
      expiresAt: claims.exp * 1000,
      issuedBy: op.id,
      revokedAt: null,
      revokedBy: null,
    });
    const edgeId = (await this.directory()).edgeOfSite.get(siteId) ?? null;
    const base = edgeId === null ? undefined : this.urls.get(edgeId);
    this.log.info({ meetingId: m.id, siteId, role, jti: claims.jti, exp: claims.exp, by: op.id }, 'join link issued');
    return {
      link,
      url: base ? `${base.replace(/\/+$/, '')}/media/v1/join?link=${link}` : null,
      claims,
      edgeId,
    };
  }

  async get(op: MeetingOperator, id: string): Promise<MeetingRecord> {
    const m = await this.repo.get(id);
    // Same answer for "no such meeting" and "not yours": ids do not leak across districts.
    if (!m || !this.mayRead(op, this.siteIndex(), m)) throw new DiemcauError('FLEET_ERR_NOT_FOUND', `meeting ${id}`);
    return m;
  }

  async list(op: MeetingOperator, opts: { active: boolean; limit: number }): Promise<MeetingRecord[]> {
    const now = this.now();
    const all = opts.active
      ? await this.repo.inWindow(now, now + 3650 * 24 * 60 * MINUTE)
      : await this.repo.recent(opts.limit * 4);
    const index = this.siteIndex();
    return all.filter((m) => this.mayRead(op, index, m)).slice(0, opts.limit);
  }

  async control(op: MeetingOperator, id: string, c: ChairControl): Promise<MeetingRecord> {
    const m = await this.openMeeting(op, id);
    if (c.action !== 'mute-all' && c.siteId !== null && !m.siteIds.includes(c.siteId)) {
      throw new DiemcauError('FLEET_ERR_BAD_REQUEST', `site ${c.siteId} is not in meeting ${id}`);
    }
    const next = {
      mutedAll: c.action === 'mute-all' ? c.muted : m.mutedAll,
      floorSiteId: c.action === 'floor' ? c.siteId : m.floorSiteId,
      // Giving the floor again names the participant anew (none unless a browser's request was granted).
      floorParticipantId: c.action === 'floor' ? (c.participantId ?? null) : m.floorParticipantId,
      rollCallSiteId: c.action === 'roll-call' ? c.siteId : m.rollCallSiteId,
    };
    await this.repo.setControls(id, next);
    // The roll call ended: the chair's picture links of it are worth nothing now.
    if (c.action === 'roll-call' && c.siteId === null && m.rollCallSiteId !== null) {
      const now = this.now();
      const monitors = (await this.links.ofMeeting(m.id)).filter(
        (l) => l.role === 'monitor' && l.revokedAt === null && l.expiresAt > now,
      );
      // The edge already lets a monitor watch nothing without a roll call: a full list only costs a log line.
      await this.revokeLinks(m, monitors, op.id).catch((err: unknown) =>
        this.log.warn({ err, meetingId: id }, 'monitor links not revoked at the end of the roll call'),
      );
    }
    await this.sync();
    return { ...m, ...next };
  }

  async end(op: MeetingOperator, id: string): Promise<MeetingRecord> {
    const m = await this.openMeeting(op, id);
    const at = this.now();
    await this.repo.end(id, at);
    this.log.info({ meetingId: id }, 'meeting ended');
    await this.sync();
    return { ...m, endedAt: at };
  }

  /**
   * The meeting keeping a site busy: live now or starting within `withinMin`
   * minutes. Reboots and update rollouts refuse such a site.
   */
  async busyMeeting(siteId: string, withinMin = 0): Promise<MeetingRecord | null> {
    const now = this.now();
    return busyMeetingForSite(
      await this.repo.inWindow(now, now + withinMin * MINUTE + 1),
      siteId,
      now,
      withinMin * MINUTE,
    );
  }

  /** The subset of `siteIds` that is busy (see busyMeeting), in one query. */
  async busySites(siteIds: readonly string[], withinMin = 0): Promise<Set<string>> {
    const now = this.now();
    const meetings = await this.repo.inWindow(now, now + withinMin * MINUTE + 1);
    return new Set(siteIds.filter((s) => busyMeetingForSite(meetings, s, now, withinMin * MINUTE) !== null));
  }

  /** Meetings live now or starting within `withinMin` minutes (the alerts name them near a meeting). */
  upcoming(withinMin = 0): Promise<MeetingRecord[]> {
    const now = this.now();
    return this.repo.inWindow(now, now + withinMin * MINUTE + 1);
  }

  /**
   * Called after every pass: a meeting created, changed, ended, or started
   * by the clock. The alerts' escalation listens, so an alert turns critical
   * when a meeting is made, not at its next tick. Returns the unsubscribe.
   */
  onSync(listener: (published: readonly string[]) => void): () => void {
    this.syncListeners.add(listener);
    return () => this.syncListeners.delete(listener);
  }

  /** Meetings live right now (for the metrics gauge). */
  async liveCount(): Promise<number> {
    const now = this.now();
    return (await this.repo.inWindow(now, now + 1)).filter((m) => meetingState(m, now) === 'live').length;
  }

  /** An edge announced its signalling URL (presence birth). */
  /**
   * The origins of the edges' join pages (what the boxes announced): the only
   * pages the dashboard may frame, for the chair's roll-call picture.
   */
  edgeOrigins(): string[] {
    const out = new Set<string>();
    for (const u of this.urls.values()) {
      try {
        const url = new URL(u);
        if (url.protocol === 'https:' || url.protocol === 'http:') out.add(url.origin);
      } catch {
        // not a URL: never framed
      }
    }
    return [...out].sort();
  }

  async setMediaUrl(deviceId: string, url: string): Promise<void> {
    if (this.urls.get(deviceId) === url) return;
    this.urls.set(deviceId, url);
    await this.repo.setMediaUrl(deviceId, url, this.now());
    await this.sync();
  }

  /**
   * Each participant's box and the edge it will link to, with that edge's
   * signalling URL (null while unknown) and the meeting's token there: what
   * the readiness check probes. The host's edge has no upstream.
   */
  async paths(m: MeetingRecord): Promise<MeetingPath[]> {
    const edges = await this.directory();
    const plan = this.plan(m, edges);
    const byEdge = new Map(plan.entries.map((e) => [e.edgeId, e]));
    return plan.siteIds.map((siteId) => {
      const edgeId = edges.edgeOfSite.get(siteId) ?? null;
      const up = edgeId === null ? null : (byEdge.get(edgeId)?.upstreamEdgeId ?? null);
      return {
        siteId,
        deviceId: edgeId,
        upstream:
          up === null
            ? null
            : {
                edgeId: up,
                signalUrl: (up === this.cfg.coreEdgeId && this.cfg.coreSignalUrl) || this.urls.get(up) || null,
                token: this.tokenFor(m.id, up),
              },
      };
    });
  }

  /** Recomputes every edge's plan and publishes the ones that changed. */
  async sync(): Promise<string[]> {
    const now = this.now();
    const index = this.siteIndex();
    const edges = await this.directory();
    const planned: PlannedMeeting[] = [];
    const revoked = await this.links.revokedUnexpired(now);
    for (const m of await this.repo.inWindow(now, now + this.cfg.planLeadMin * MINUTE + 1)) {
      const state = meetingState(m, now);
      if (state === 'ended') continue;
      try {
        planned.push({
          ...m,
          meetingId: m.id,
          state,
          floorParticipantId: m.floorSiteId === null ? null : m.floorParticipantId,
          revokedLinks: revoked.get(m.id),
          plan: this.plan(m, edges, index),
        });
      } catch (err) {
        // A site removed from the registry after the meeting was made.
        this.log.warn({ meetingId: m.id, err }, 'meeting cannot be planned; left out');
      }
    }
    const names = new Map(this.ports.sites().map((s) => [s.id, s.name]));
    const { plans, waiting, dropped } = mediaPlans(planned, {
      signalUrlOf: (edgeId) =>
        (edgeId === this.cfg.coreEdgeId && this.cfg.coreSignalUrl) || this.urls.get(edgeId) || null,
      tokenFor: this.tokenFor,
      siteNameOf: (siteId) => names.get(siteId),
    });
    if (waiting.length > 0) this.log.debug({ waiting: waiting.length }, 'edges waiting for an upstream address');
    if (dropped.length > 0) this.log.warn({ dropped }, 'edge plans over the protocol limit; scheduled meetings wait');
    for (const body of plans.values()) body.joinKey = this.joinKey.publicKeyPem;
    let published: readonly string[] = [];
    try {
      published = await this.publisher.sync(plans);
      return [...published];
    } finally {
      this.afterSync();
      for (const l of [...this.syncListeners]) {
        try {
          l(published);
        } catch (err) {
          this.log.error({ err }, 'meeting sync listener threw');
        }
      }
    }
  }

  /** When the plans next change by the clock alone (a start, an end, a lead window opening). */
  async nextTransition(): Promise<number | null> {
    const now = this.now();
    const lead = this.cfg.planLeadMin * MINUTE;
    const times = (await this.repo.inWindow(now, now + lead + this.cfg.reconcileIntervalMs))
      .flatMap((m) => [m.startsAt - lead, m.startsAt, effectiveEnd(m)])
      .filter((t) => t > now);
    return times.length > 0 ? Math.min(...times) : null;
  }

  /** A meeting the operator may chair now (not ended, its chair within the operator's area). */
  forChair(op: MeetingOperator, id: string): Promise<MeetingRecord> {
    return this.openMeeting(op, id);
  }

  private async openMeeting(op: MeetingOperator, id: string): Promise<MeetingRecord> {
    const m = await this.get(op, id);
    this.assertMayAct(op, this.siteIndex(), [m.chairSiteId]);
    if (meetingState(m, this.now()) === 'ended') throw new DiemcauError('FLEET_ERR_MEETING_ENDED', id);
    return m;
  }

  private siteIndex(): SiteIndex {
    return this.ports.siteIndex?.() ?? indexSites(this.ports.sites());
  }

  /** A meeting is visible to whoever may see one of its sites. */
  private mayRead(op: MeetingOperator, index: SiteIndex, m: MeetingRecord): boolean {
    const scope = siteScopeOf(index, op);
    return scope === null || m.siteIds.some((s) => scope.has(s));
  }

  private assertMayAct(op: MeetingOperator, index: SiteIndex, siteIds: readonly string[]): void {
    if (!mayAct(op))
      throw new DiemcauError('FLEET_ERR_FORBIDDEN', `role ${op.role} cannot run meetings (viewers only read)`);
    const outside = outsideScope(index, op, siteIds);
    if (outside.length > 0) {
      throw new DiemcauError('FLEET_ERR_FORBIDDEN', `outside ${describeArea(op.area)}: ${outside.join(', ')}`, {
        details: { siteIds: outside },
      });
    }
  }
}

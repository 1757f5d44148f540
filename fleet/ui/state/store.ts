// The dashboard's one source of truth: the snapshot loaded over HTTP, kept
// current by the event feed. Views subscribe and re-render; nothing polls.
import { ApiError, items, type Api } from '../api/client.js';
import type {
  Alert,
  AlertAck,
  CommandView,
  Device,
  FleetEvent,
  Hierarchy,
  Meeting,
  MeetingDetail,
  Operator,
  Rollout,
  Site,
  TelemetrySample,
} from '../api/types.js';
import { meetingLive } from './derive.js';

export interface Snapshot {
  loaded: boolean;
  /** Why the last load failed (an ApiError or a network error); the page words it (i18n/errors.ts). */
  error: unknown;
  live: boolean;
  operator: Operator | null;
  sites: Site[];
  /** The dataset's kinds and relay groups; null from a fleet without GET /api/v1/hierarchy. */
  hierarchy: Hierarchy | null;
  devices: Device[];
  alerts: Alert[];
  /** Command updates seen on the feed, newest last; pages merge them into their lists. */
  commands: CommandView[];
  /** Telemetry samples seen on the feed per device, to extend open charts. */
  telemetry: Record<string, TelemetrySample[]>;
  /** Alerts opened since the operator last looked at the alerts view. */
  unseenAlerts: number;
  /** Whether the server has the routes of later stages. */
  ackSupported: boolean;
  /** Live and scheduled meetings; null when the fleet has no meetings module. */
  meetings: Meeting[] | null;
  /** Rollouts, newest first; null when the fleet has no OTA module. */
  rollouts: Rollout[] | null;
  /** Devices updating now (in flight in a running rollout). */
  updating: ReadonlySet<string>;
  /** Operators' names by id, so pages say who sent a command rather than an id. */
  names: ReadonlyMap<string, string>;
  /** Sites with a decommissioned box (GET /api/v1/devices?revoked=true, then the feed). */
  revokedSites: ReadonlySet<string>;
  /** Per site, when its media last reached a live meeting (the edges' figures), whatever its agent says. */
  mediaSeen: ReadonlyMap<string, string>;
}

type Listener = (s: Snapshot) => void;

const ALERT_PAGE = 500;
const TERMINAL = new Set(['succeeded', 'failed', 'rejected', 'expired']);
/** Checks of an offline site's media after it dropped (the first 1 s after, then MEDIA_RECHECK_MS apart). */
const MEDIA_CHECK_TRIES = 7;
const MEDIA_RECHECK_MS = 5000;

export class Store {
  private s: Snapshot = {
    loaded: false,
    error: null,
    live: false,
    operator: null,
    sites: [],
    hierarchy: null,
    devices: [],
    alerts: [],
    commands: [],
    telemetry: {},
    unseenAlerts: 0,
    ackSupported: true,
    meetings: null,
    rollouts: null,
    updating: new Set(),
    names: new Map(),
    revokedSites: new Set(),
    mediaSeen: new Map(),
  };
  private listeners = new Set<Listener>();
  private alertReload: ReturnType<typeof setTimeout> | undefined;
  private deviceReload: ReturnType<typeof setTimeout> | undefined;
  private viewingAlerts = false;
  private readonly tracked = new Set<string>();
  private readonly rebooting = new Set<string>();
  private readonly pendingMedia = new Set<string>();
  private mediaTimer: ReturnType<typeof setTimeout> | undefined;
  /** Sites waiting for the next media check, with how many checks each has left. */
  private readonly pendingTries = new Map<string, number>();
  /** When the pending media check runs (ms since 1970). */
  private mediaDueAt = 0;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private closed = false;
  private meetingTimer: ReturnType<typeof setInterval> | undefined;
  // The feed's changes to devices, numbered: a list fetched before a change
  // (answered after it, on a slow fleet) must not undo it.
  private feedSeq = 0;
  private readonly changedAt = new Map<string, number>();

  constructor(private readonly api: Api) {}

  get snapshot(): Snapshot {
    return this.s;
  }

  subscribe(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private set(patch: Partial<Snapshot>): void {
    this.s = { ...this.s, ...patch };
    for (const fn of this.listeners) fn(this.s);
  }

  async load(): Promise<void> {
    const since = this.feedSeq;
    try {
      const [sites, devices, alerts, operator, hierarchy, operatorNames, revoked] = await Promise.all([
        this.api.get<{ items: Site[] }>('/api/v1/sites').then(items),
        this.api.get<{ items: Device[] }>('/api/v1/devices').then(items),
        this.fetchAlerts(),
        this.api.get<Operator>('/api/v1/ui/session').catch(() => null),
        this.api.get<Hierarchy>('/api/v1/hierarchy').catch(() => null),
        this.api
          .get<{ items: { id: string; name: string }[] }>('/api/v1/ui/operator-names')
          .then(items)
          .catch(() => []),
        this.api
          .get<{ items: Device[] }>('/api/v1/devices?revoked=true')
          .then(items)
          .catch(() => [] as Device[]),
      ]);
      const names = new Map(operatorNames.map((o) => [o.id, o.name]));
      const revokedSites = new Set(revoked.map((d) => d.siteId));
      this.set({
        loaded: true,
        error: null,
        sites,
        hierarchy,
        devices: this.newerKept(devices, since),
        alerts,
        names,
        revokedSites,
        operator: operator ?? this.s.operator,
      });
      this.startMeetingRefresh();
    } catch (err) {
      this.set({ error: err ?? new Error('load failed') });
    }
  }

  private async fetchAlerts(): Promise<Alert[]> {
    const [open, resolved, acks] = await Promise.all([
      this.api.get<{ items: Alert[] }>('/api/v1/alerts?state=open').then(items),
      this.api.get<{ items: Alert[] }>(`/api/v1/alerts?state=resolved&limit=${ALERT_PAGE}`).then(items),
      // Acknowledgements live beside the alerts (fleet/src/ui/acks.ts); a fleet without them still lists alerts.
      this.api
        .get<{ items: AlertAck[] }>('/api/v1/alert-acks')
        .then(items)
        .catch(() => [] as AlertAck[]),
    ]);
    const byAlert = new Map(acks.map((a) => [String(a.alertId), a]));
    return [...open, ...resolved].map((a) => withAck(a, byAlert.get(String(a.id))));
  }

  /**
   * Meetings and rollouts: fetched once, then again whenever the fleet says
   * they changed ('meetings' and 'rollouts' events), and once a minute besides.
   * Whether a meeting is live right now is worked out from its times in between.
   */
  private startMeetingRefresh(): void {
    if (this.meetingTimer !== undefined) return;
    const both = () => {
      this.reloadMeetings();
      this.reloadRollouts();
    };
    both();
    this.meetingTimer = setInterval(both, 60_000);
  }

  reloadMeetings(): void {
    void this.api
      .get<{ items: Meeting[] }>('/api/v1/meetings')
      .then(items)
      .then((meetings) => {
        this.set({ meetings });
        // Sites of a live meeting whose box is offline: does their media still flow?
        const now = Date.now();
        const offline = new Set(this.s.devices.filter((d) => !d.online).map((d) => d.siteId));
        const ids = meetings
          .filter((m) => meetingLive(m, now) && [m.chairSiteId, ...m.siteIds].some((s) => offline.has(s)))
          .map((m) => m.id);
        if (ids.length > 0) void this.loadMedia(ids);
      })
      .catch((err: unknown) => {
        if (err instanceof ApiError && err.status === 404) this.set({ meetings: null });
      });
  }

  /** Rollouts, and for the running ones which devices are updating right now. */
  reloadRollouts(): void {
    void (async () => {
      try {
        const rollouts = await this.api.get<{ items: Rollout[] }>('/api/v1/rollouts').then(items);
        const running = rollouts.filter((r) => r.state === 'running');
        const detailed = await Promise.all(
          running.map((r) => this.api.get<Rollout>(`/api/v1/rollouts/${encodeURIComponent(r.id)}?devices=true`)),
        );
        const updating = new Set(
          detailed.flatMap((r) => (r.devices ?? []).filter((d) => d.state === 'in-flight').map((d) => d.deviceId)),
        );
        this.set({ rollouts, updating });
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) this.set({ rollouts: null });
      }
    })();
  }

  async rolloutAction(id: string, action: 'pause' | 'resume' | 'abort', reason?: string): Promise<void> {
    await this.api.post(`/api/v1/rollouts/${encodeURIComponent(id)}/${action}`, action === 'abort' ? { reason } : {});
    this.reloadRollouts();
  }

  setLive(live: boolean): void {
    if (live !== this.s.live) this.set({ live });
  }

  setViewingAlerts(on: boolean): void {
    this.viewingAlerts = on;
    if (on && this.s.unseenAlerts) this.set({ unseenAlerts: 0 });
  }

  apply(e: FleetEvent): void {
    switch (e.type) {
      case 'hello':
        return;
      case 'presence':
        if (e.reason === 'revoked') return this.dropRevoked(e.deviceId, e.siteId);
        if (!e.online) this.mediaCheckSoon(e.siteId);
        return this.patchDevice(e.deviceId, {
          online: e.online,
          lastSeenAt: e.at,
          ...this.presenceChange(e.deviceId, e.online, e.at),
        });
      case 'birth':
        return this.patchDevice(e.deviceId, {
          online: true,
          lastSeenAt: e.at,
          ...this.presenceChange(e.deviceId, true, e.at),
          ...(e.agentVersion !== undefined ? { agentVersion: e.agentVersion } : {}),
          ...(e.peripherals !== undefined ? { peripherals: e.peripherals as Device['peripherals'] } : {}),
        });
      case 'peripherals':
        return this.patchDevice(e.deviceId, { peripherals: e.peripherals as Device['peripherals'] });
      case 'enrolled':
        return this.reloadDevicesSoon();
      case 'alert': {
        const prev = this.s.alerts.find((x) => String(x.id) === String(e.alert.id));
        return this.upsertAlert({ ...e.alert, ...ackFields(prev) });
      }
      case 'ack': {
        const prev = this.s.alerts.find((x) => String(x.id) === String(e.ack.alertId));
        if (prev) this.upsertAlert(withAck(prev, e.ack));
        return;
      }
      case 'command':
        return this.upsertCommand(e.command);
      case 'telemetry':
        return this.addTelemetry(e.deviceId, e.sample);
      case 'self-test':
        return; // the device page reloads its self-tests
      case 'meetings':
        return this.reloadMeetings();
      case 'rollouts':
        return this.reloadRollouts();
    }
  }

  /**
   * `presenceAt` moves only when the box goes from online to offline or back,
   * as the registry's does; a box that comes back while a reboot of it is
   * followed has its first sample since fetched (the uptime that proves it restarted).
   */
  private presenceChange(id: string, online: boolean, at: string): Partial<Device> {
    const d = this.s.devices.find((x) => x.id === id);
    if (d && d.online === online) return {};
    if (online && this.rebooting.has(id)) this.fetchFreshSample(id, at);
    return { presenceAt: at };
  }

  /** Follows a box the operator told to reboot until it is back (or two minutes pass). */
  followReboot(deviceId: string): void {
    this.rebooting.add(deviceId);
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.rebooting.delete(deviceId);
    }, 10 * 60_000);
    this.timers.add(t);
  }

  /** The box's newest sample, until one is newer than `since` (its first after coming back): at most 40 tries, 1.5 s apart. */
  private fetchFreshSample(id: string, since: string): void {
    let tries = 0;
    const once = async (): Promise<void> => {
      try {
        const d = await this.api.get<Device>(`/api/v1/devices/${encodeURIComponent(id)}`);
        const cur = this.s.devices.find((x) => x.id === id);
        if (cur) this.upsertDevice({ ...cur, telemetry: d.telemetry ?? null });
        if (d.telemetry && Date.parse(d.telemetry.receivedAt) >= Date.parse(since)) {
          this.rebooting.delete(id);
          return;
        }
      } catch {
        /* try again below */
      }
      if (++tries >= 40 || this.closed) return;
      const t = setTimeout(() => {
        this.timers.delete(t);
        void once();
      }, 1500);
      this.timers.add(t);
    };
    void once();
  }

  /** A decommissioned box leaves the live list; its site reads "decommissioned" unless another box is there. */
  private dropRevoked(deviceId: string, siteId: string): void {
    this.changedAt.set(deviceId, ++this.feedSeq);
    this.set({
      devices: this.s.devices.filter((d) => d.id !== deviceId),
      revokedSites: new Set([...this.s.revokedSites, siteId]),
    });
  }

  /**
   * A box dropped off: if its site is in a live meeting, ask the meeting's
   * figures whether its media still flows ("agent down, media up"). Once per
   * burst, and only for sites in a live meeting. A site still offline and not
   * seen flowing is asked about again every few seconds for half a minute
   * (its upstream edge reports every few seconds, and an answer that failed
   * or came too early would otherwise wait for the minute's refresh).
   */
  private mediaCheckSoon(siteId: string, triesLeft = MEDIA_CHECK_TRIES, delayMs = 1000): void {
    // An answer that arrives after close() arms nothing.
    if (this.closed) return;
    const now = Date.now();
    const live = (this.s.meetings ?? []).filter(
      (m) => meetingLive(m, now) && (m.chairSiteId === siteId || m.siteIds.includes(siteId)),
    );
    if (live.length === 0) return;
    for (const m of live) this.pendingMedia.add(m.id);
    this.pendingTries.set(siteId, Math.max(triesLeft, this.pendingTries.get(siteId) ?? 0));
    // A check already due as soon keeps its time; a box that drops during a
    // slower re-check is asked about after the usual second, with the rest.
    const due = now + delayMs;
    if (this.mediaTimer !== undefined && this.mediaDueAt <= due) return;
    clearTimeout(this.mediaTimer);
    this.mediaDueAt = due;
    this.mediaTimer = setTimeout(() => {
      this.mediaTimer = undefined;
      const asked = [...this.pendingTries];
      this.pendingTries.clear();
      void this.loadMedia([...this.pendingMedia]).then(() => {
        const offline = new Set(this.s.devices.filter((d) => !d.online).map((d) => d.siteId));
        for (const [site, tries] of asked)
          if (tries > 1 && offline.has(site) && !this.s.mediaSeen.has(site))
            this.mediaCheckSoon(site, tries - 1, MEDIA_RECHECK_MS);
      });
      this.pendingMedia.clear();
    }, delayMs);
  }

  /**
   * The edges' figures of these meetings: a site whose upstream edge still
   * receives its media (from the upstream's own, fresh report) has media
   * flowing whatever its agent says; noted with when the page learnt it.
   */
  private loadMedia(meetingIds: readonly string[]): Promise<void> {
    return Promise.all(
      meetingIds.map((id) =>
        this.api.get<MeetingDetail>(`/api/v1/meetings/${encodeURIComponent(id)}`).catch(() => null),
      ),
    ).then((details) => {
      const seen = new Map(this.s.mediaSeen);
      const at = new Date().toISOString();
      for (const d of details) {
        for (const st of d?.stats ?? []) {
          const upstream = st.seenUpstream;
          if (upstream?.state === 'connected' && upstream.recvBps > 0) seen.set(st.siteId, at);
          else seen.delete(st.siteId);
        }
      }
      this.set({ mediaSeen: seen });
    });
  }

  /** A change to a device we know; an unknown one (just enrolled) reloads the list. */
  private patchDevice(id: string, patch: Partial<Device>): void {
    const d = this.s.devices.find((x) => x.id === id);
    if (!d) return this.reloadDevicesSoon();
    this.changedAt.set(id, ++this.feedSeq);
    this.upsertDevice({ ...d, ...patch });
  }

  /** A device list fetched when the feed stood at `since`, with what the feed changed since kept. */
  private newerKept(fetched: readonly Device[], since: number): Device[] {
    const mine = new Map(this.s.devices.map((d) => [d.id, d]));
    return fetched.flatMap((d) => {
      if ((this.changedAt.get(d.id) ?? 0) <= since) return [d];
      const kept = mine.get(d.id);
      return kept ? [kept] : []; // decommissioned meanwhile
    });
  }

  /** Samples for open charts; fed by the device page's refresh or a telemetry event. */
  addTelemetry(deviceId: string, sample: TelemetrySample): void {
    const list = [...(this.s.telemetry[deviceId] ?? []), sample].slice(-720);
    this.set({ telemetry: { ...this.s.telemetry, [deviceId]: list } });
  }

  private upsertCommand(c: CommandView): void {
    const rest = this.s.commands.filter((x) => x.id !== c.id);
    this.set({ commands: [...rest, c].slice(-500) });
  }

  private upsertDevice(d: Device): void {
    const i = this.s.devices.findIndex((x) => x.id === d.id);
    const devices = [...this.s.devices];
    if (i >= 0) devices[i] = { ...devices[i], ...d };
    else devices.push(d);
    this.set({ devices });
  }

  private upsertAlert(a: Alert): void {
    const i = this.s.alerts.findIndex((x) => String(x.id) === String(a.id));
    const alerts = [...this.s.alerts];
    const isNew = i < 0 && !a.resolvedAt;
    if (i >= 0) alerts[i] = { ...alerts[i], ...a };
    else alerts.push(a);
    this.set({ alerts, unseenAlerts: isNew && !this.viewingAlerts ? this.s.unseenAlerts + 1 : this.s.unseenAlerts });
  }

  /** Coalesces bursts (a district going down) into one request. */
  reloadAlertsSoon(): void {
    clearTimeout(this.alertReload);
    this.alertReload = setTimeout(() => {
      void this.fetchAlerts()
        .then((alerts) => this.set({ alerts }))
        .catch(() => {});
    }, 250);
  }

  reloadDevicesSoon(): void {
    clearTimeout(this.deviceReload);
    this.deviceReload = setTimeout(() => {
      const since = this.feedSeq;
      void this.api
        .get<{ items: Device[] }>('/api/v1/devices')
        .then(items)
        .then((devices) => this.set({ devices: this.newerKept(devices, since) }))
        .catch(() => {});
    }, 250);
  }

  /**
   * Follows a command (or a subtree batch, one request for all of it) that the
   * operator just sent, until every device has answered.
   * TODO: drop this once the commands module puts its changes on the fleet's
   * event bus (a 'command-updated' event); until then it costs one request per
   * 1.5 s per send in flight, from this browser only, for at most two minutes.
   */
  trackCommand(id: string): void {
    this.track(`/api/v1/commands/${encodeURIComponent(id)}`, async (path) => [await this.api.get<CommandView>(path)]);
  }

  trackBatch(batchId: string): void {
    this.track(`/api/v1/command-batches/${encodeURIComponent(batchId)}`, (path) =>
      this.api.get<{ items: CommandView[] }>(path).then(items),
    );
  }

  private track(path: string, fetchAll: (path: string) => Promise<CommandView[]>): void {
    if (this.tracked.has(path)) return;
    this.tracked.add(path);
    const started = Date.now();
    const poll = async (): Promise<void> => {
      try {
        const list = await fetchAll(path);
        for (const c of list) this.upsertCommand(c);
        if (list.every((c) => TERMINAL.has(c.status))) {
          this.tracked.delete(path);
          return;
        }
      } catch {
        /* keep trying until the deadline */
      }
      if (Date.now() - started > 120_000 || this.closed) {
        this.tracked.delete(path);
        return;
      }
      const t = setTimeout(() => {
        this.timers.delete(t);
        void poll();
      }, 1500);
      this.timers.add(t);
    };
    void poll();
  }

  async acknowledge(alertId: string, note: string): Promise<void> {
    try {
      const ack = await this.api.post<AlertAck>(`/api/v1/alerts/${encodeURIComponent(alertId)}/ack`, { note });
      const prev = this.s.alerts.find((x) => String(x.id) === alertId);
      if (prev) this.upsertAlert(withAck(prev, ack));
    } catch (err) {
      if (err instanceof ApiError && err.unsupported) this.set({ ackSupported: false });
      throw err;
    }
  }

  close(): void {
    this.closed = true;
    clearInterval(this.meetingTimer);
    for (const t of this.timers) clearTimeout(t);
    clearTimeout(this.mediaTimer);
    clearTimeout(this.alertReload);
    clearTimeout(this.deviceReload);
    this.listeners.clear();
  }
}

function withAck(a: Alert, ack: AlertAck | undefined): Alert {
  return ack ? { ...a, acknowledgedAt: ack.at, acknowledgedBy: ack.by, ackNote: ack.note } : a;
}

function ackFields(a: Alert | undefined): Partial<Alert> {
  return a?.acknowledgedAt
    ? { acknowledgedAt: a.acknowledgedAt, acknowledgedBy: a.acknowledgedBy ?? null, ackNote: a.ackNote ?? null }
    : {};
}

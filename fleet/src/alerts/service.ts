import type { Logger } from 'pino';
import type { Alert, AlertSeverity, AlertsRepo, NewAlert } from '../db/alerts-repo.js';
import type { FleetEvents } from '../events.js';
import type { FleetMetrics } from '../metrics.js';
import type { WebhookNotifier } from './webhook.js';
import { KeyedSerial } from '../keyed-serial.js';
import { UNFENCED, type Fence } from '../cluster/leadership.js';

/**
 * A rule that shapes alerts on their way in, whoever raises them: the
 * meeting escalation (escalation.ts) opens an alert critical when its site's
 * meeting is near, and keeps its detail keys when another module rewrites the
 * details.
 */
export interface AlertPolicy {
  opening(a: NewAlert): Promise<NewAlert>;
  updating(current: Alert, details: Record<string, unknown>): Record<string, unknown>;
}

type AlertPatch = { details?: Record<string, unknown>; message?: string; severity?: AlertSeverity };

/**
 * An alert's updates are written at most this often; what comes meanwhile is
 * folded into the next write. A storm's incident changes with every box that
 * comes back, and each write of its details (thousands of boxes) cost the
 * registry a quarter of a megabyte and the leader its turn.
 */
const UPDATE_EVERY_MS = 1000;
type UpdateOptions = { asIs?: boolean } & ChangeOptions;
type QueuedUpdate = {
  patch: AlertPatch;
  opts: UpdateOptions;
  done: Promise<Alert | undefined>;
  /** Ends its wait for UPDATE_EVERY_MS at once. */
  hurry: () => void;
};

/**
 * The leader's fence (cluster/leadership.ts) for changes that are leader
 * work (presence rules, node-down, escalation): the change is stored only
 * while this node leads, and the bus and the webhook hear of it only after
 * it is stored, so a leader that lost the lead mid-way announces nothing.
 */
export interface ChangeOptions {
  fence?: Fence;
}

/**
 * The one way to open, update and resolve alerts, whoever raises them
 * (presence rules, peripheral health, OTA): stores them, tells the event bus
 * (dashboard) and the webhook. Opening an alert whose key is already open is
 * a no-op, so callers may repeat themselves. Changes to one key run in the
 * order they were asked for (each is several queries).
 */
export class AlertService {
  private policy: AlertPolicy | undefined;
  private readonly byKey = new KeyedSerial();
  /**
   * Per key, an update queued and not yet started, while nothing else was
   * queued after it: a later update of the same key is folded into it. A
   * storm's incident changes with every box that comes back (its details
   * list thousands of boxes), and each change was a write, an event and a
   * webhook call in turn; now a key's writes come at most once a
   * UPDATE_EVERY_MS, each with the latest state.
   */
  private readonly queuedUpdates = new Map<string, QueuedUpdate>();
  /** Per open key, when its details were last written (see UPDATE_EVERY_MS). */
  private readonly lastUpdated = new Map<string, number>();

  constructor(
    private readonly repo: AlertsRepo,
    private readonly events: FleetEvents,
    private readonly metrics: FleetMetrics,
    private readonly log: Logger,
    private readonly webhook: WebhookNotifier | undefined,
  ) {}

  /** Installs the policy (one at a time); the returned function removes it. */
  usePolicy(policy: AlertPolicy): () => void {
    this.policy = policy;
    return () => {
      if (this.policy === policy) this.policy = undefined;
    };
  }

  open(a: NewAlert, opts: ChangeOptions = {}): Promise<Alert> {
    this.cutQueue(a.key);
    return this.byKey.run(a.key, () => this.openNow(a, opts.fence ?? UNFENCED));
  }

  private async openNow(a: NewAlert, fence: Fence): Promise<Alert> {
    const { alert, created } = await fence(async () => {
      // An alert already open under the key stays as it is: the policy only
      // shapes new ones (and its own updates keep the open ones right).
      const shaped = this.policy && !(await this.repo.getOpen(a.key)) ? await this.shapeNew(a) : a;
      return this.repo.open(shaped);
    });
    if (created) {
      this.metrics.alertsOpened.inc({ type: alert.type });
      this.log.info(
        {
          alertId: alert.id,
          type: alert.type,
          key: alert.key,
          severity: alert.severity,
          deviceId: alert.deviceId,
          siteId: alert.siteId,
        },
        'alert opened',
      );
      this.events.emit('alert-opened', alert);
      this.webhook?.notify('alert-opened', alert);
    }
    return alert;
  }

  /**
   * Changes an open alert and tells the bus and the webhook. With `asIs`
   * (the policy's own updates) the details are stored exactly as given;
   * otherwise the policy keeps its keys in them.
   */
  update(key: string, patch: AlertPatch, opts: UpdateOptions = {}): Promise<Alert | undefined> {
    const queued = this.queuedUpdates.get(key);
    if (queued && queued.opts.asIs === opts.asIs && queued.opts.fence === opts.fence) {
      queued.patch = { ...queued.patch, ...patch };
      return queued.done;
    }
    const entry: QueuedUpdate = { patch, opts, done: Promise.resolve(undefined), hurry: () => undefined };
    this.queuedUpdates.set(key, entry);
    entry.done = this.byKey.run(key, async () => {
      const wait = (this.lastUpdated.get(key) ?? -Infinity) + UPDATE_EVERY_MS - Date.now();
      // Not once an open or a resolve is queued behind it (cutQueue).
      if (wait > 0 && this.queuedUpdates.get(key) === entry)
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, wait);
          entry.hurry = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      if (this.queuedUpdates.get(key) === entry) this.queuedUpdates.delete(key);
      this.lastUpdated.set(key, Date.now());
      const alert = await this.updateNow(key, entry.patch, entry.opts);
      if (!alert) this.lastUpdated.delete(key);
      return alert;
    });
    return entry.done;
  }

  /** Nothing folds any more into the update waiting for its turn, and it is written now: an open or a resolve follows. */
  private cutQueue(key: string): void {
    this.queuedUpdates.get(key)?.hurry();
    this.queuedUpdates.delete(key);
  }

  private async updateNow(key: string, patch: AlertPatch, opts: UpdateOptions): Promise<Alert | undefined> {
    const alert = await (opts.fence ?? UNFENCED)(async () => {
      let p = patch;
      if (this.policy && patch.details && !opts.asIs) {
        const current = await this.repo.getOpen(key);
        if (current) p = { ...patch, details: this.keepPolicyKeys(current, patch.details) };
      }
      return this.repo.update(key, p);
    });
    if (alert) {
      this.events.emit('alert-updated', alert);
      this.webhook?.notify('alert-updated', alert);
    }
    return alert;
  }

  resolve(key: string, resolution: string, opts: ChangeOptions = {}): Promise<Alert | undefined> {
    this.cutQueue(key);
    return this.byKey.run(key, () => {
      this.lastUpdated.delete(key);
      return this.resolveNow(key, resolution, opts.fence ?? UNFENCED);
    });
  }

  private async resolveNow(key: string, resolution: string, fence: Fence): Promise<Alert | undefined> {
    const alert = await fence(() => this.repo.resolve(key, resolution));
    if (alert) {
      this.log.info({ alertId: alert.id, type: alert.type, key, resolution }, 'alert resolved');
      this.events.emit('alert-resolved', alert);
      this.webhook?.notify('alert-resolved', alert);
    }
    return alert;
  }

  private keepPolicyKeys(current: Alert, details: Record<string, unknown>): Record<string, unknown> {
    try {
      return this.policy!.updating(current, details);
    } catch (err) {
      this.log.error({ err, key: current.key }, 'alert policy failed; details stored as given');
      return details;
    }
  }

  private async shapeNew(a: NewAlert): Promise<NewAlert> {
    try {
      return await this.policy!.opening(a);
    } catch (err) {
      // A failing policy must not cost the alert itself.
      this.log.error({ err, key: a.key }, 'alert policy failed; opened as raised');
      return a;
    }
  }

  async isOpen(key: string): Promise<boolean> {
    return (await this.repo.getOpen(key)) !== undefined;
  }

  list(q: Parameters<AlertsRepo['list']>[0]): Promise<Alert[]> {
    return this.repo.list(q);
  }

  /** Resolves when every change asked for so far is stored (tests, shutdown). */
  idle(): Promise<void> {
    return this.byKey.idle();
  }
}

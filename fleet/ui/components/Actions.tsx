// Remote actions for one box or a whole subtree. Nothing is sent before the
// operator has read how many boxes it touches (and how many are offline), and,
// for anything that interrupts a room, which meeting is on or about to start
// there. After sending, a reboot is followed until the box is really back.
import { useMemo, useState } from 'preact/hooks';
import type { CommandType } from '../api/types.js';
import { useI18n } from '../i18n/i18n.js';
import { errorText } from '../i18n/errors.js';
import { devicesUnder, meetingsAt } from '../state/derive.js';
import { useApp, useNow, useSnapshot } from '../state/hooks.js';
import { useFleetModel } from '../state/model.js';
import { Modal } from './Modal.js';
import { RebootLine } from './RebootLine.js';

export type ActionTarget =
  { kind: 'site'; siteId: string; name: string } | { kind: 'device'; deviceId: string; name: string };

const ACTIONS: CommandType[] = ['reboot', 'restart-agent', 'restart-media', 'identify', 'self-test'];
/** What interrupts a room: the confirmation names the meeting on (or about to start) there. */
export const INTERRUPTS = new Set<string>(['reboot', 'restart-agent', 'restart-media', 'identify', 'update']);
/** What the fleet refuses during a live meeting unless forced with a reason (fleet/src/commands/plan.ts). */
const REFUSED_IN_MEETING = new Set<CommandType>(['reboot', 'restart-media']);
/** A meeting starting within this is "about to start". */
const SOON_MS = 30 * 60_000;

export function Actions(props: { target: ActionTarget; compact?: boolean }) {
  const { t } = useI18n();
  const snap = useSnapshot();
  const [pending, setPending] = useState<CommandType | null>(null);
  if (snap.operator?.role === 'viewer') return null;
  const buttons = ACTIONS.map((a) => (
    <button
      type="button"
      key={a}
      class={`btn${REFUSED_IN_MEETING.has(a) ? ' warn' : ''}`}
      data-action={a}
      onClick={() => setPending(a)}
    >
      {t(`cmd.${a}`)}
    </button>
  ));
  return (
    <>
      {props.compact ? (
        <details class="menu">
          <summary class="btn ghost small" aria-label={t('grid.actions', { name: props.target.name })}>
            {t('cmd.actions')} ▾
          </summary>
          <div class="menu-pop">{buttons}</div>
        </details>
      ) : (
        <div class="actions" role="group" aria-label={t('cmd.actions')}>
          {buttons}
        </div>
      )}
      {pending && <ConfirmCommand type={pending} target={props.target} onClose={() => setPending(null)} />}
    </>
  );
}

function ConfirmCommand(props: { type: CommandType; target: ActionTarget; onClose(): void }) {
  const i18n = useI18n();
  const { t, lang } = i18n;
  const { api, store } = useApp();
  const snap = useSnapshot();
  const m = useFleetModel();
  const now = useNow(15_000);
  const { target, type } = props;
  const boxes = useMemo(
    () =>
      target.kind === 'device'
        ? snap.devices.filter((d) => d.id === target.deviceId)
        : devicesUnder(target.siteId, snap.sites, snap.devices),
    [target, snap.sites, snap.devices],
  );
  const offline = boxes.filter((d) => !d.online).length;
  const affected = useMemo(
    () =>
      INTERRUPTS.has(type)
        ? meetingsAt(
            boxes.map((d) => d.siteId),
            snap.meetings,
            now,
            SOON_MS,
          )
        : [],
    [type, boxes, snap.meetings, now],
  );
  const live = affected.some((a) => a.live);
  const canForce = REFUSED_IN_MEETING.has(type);
  const [force, setForce] = useState(live && canForce);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [sent, setSent] = useState<{ n: number; commandId?: string } | null>(null);
  const cmd = t(`cmd.${type}`);

  const send = async () => {
    setBusy(true);
    setError(null);
    const body = { type, ...(force ? { force: { reason: reason.trim() } } : {}) };
    try {
      if (target.kind === 'device') {
        const c = await api.post<{ id: string }>(
          `/api/v1/devices/${encodeURIComponent(target.deviceId)}/commands`,
          body,
        );
        store.trackCommand(c.id);
        if (type === 'reboot') store.followReboot(target.deviceId);
        setSent({ n: 1, commandId: c.id });
      } else {
        const out = await api.post<{ batchId: string; items: { deviceId: string }[] }>(
          `/api/v1/sites/${encodeURIComponent(target.siteId)}/commands`,
          body,
        );
        store.trackBatch(out.batchId);
        if (type === 'reboot') for (const it of out.items) store.followReboot(it.deviceId);
        setSent({ n: out.items.length });
      }
    } catch (err) {
      if ((err as { code?: string }).code === 'FLEET_ERR_SITE_IN_MEETING') setForce(true);
      setError(errorText(lang, err));
    } finally {
      setBusy(false);
    }
  };

  const n = boxes.length;
  const siteName = (id: string) => m.siteById.get(id)?.name ?? id;
  return (
    <Modal title={t('cmd.confirmTitle', { cmd })} onClose={props.onClose}>
      {sent !== null ? (
        <>
          <p class="ok-line" role="status" data-testid="command-sent">
            {t('cmd.sent', { cmd, n: sent.n })}
          </p>
          {type === 'reboot' && sent.commandId && (
            <RebootLine commandId={sent.commandId} deviceId={target.kind === 'device' ? target.deviceId : ''} />
          )}
          <div class="modal-actions">
            <button type="button" class="btn primary" onClick={props.onClose}>
              {t('common.close')}
            </button>
          </div>
        </>
      ) : (
        <>
          {affected.length > 0 && (
            <div
              class={`banner ${live ? 'error' : 'warn'}`}
              role="alert"
              data-testid="meeting-warning"
              data-live={live}
            >
              {affected.map((a) => (
                <p key={a.meeting.id}>
                  {t(a.live ? 'cmd.meetingLive' : 'cmd.meetingSoon', {
                    title: a.meeting.title,
                    time: i18n.time(a.meeting.startsAt),
                    chair: siteName(a.meeting.chairSiteId),
                    sites:
                      a.siteIds.map(siteName).slice(0, 3).join(', ') +
                      (a.siteIds.length > 3 ? ` (+${a.siteIds.length - 3})` : ''),
                  })}
                </p>
              ))}
              <p>{t(`cmd.interrupts.${type}` as 'cmd.interrupts.reboot')}</p>
            </div>
          )}
          <p class="confirm-count" data-testid="confirm-count" data-count={n}>
            {n === 0
              ? t('cmd.confirmNone', { target: target.name })
              : target.kind === 'device'
                ? t('cmd.confirmOne', { target: target.name })
                : t('cmd.confirmMany', { n, target: target.name })}
          </p>
          {offline > 0 && <p class="muted">{t('cmd.confirmOffline', { n: offline })}</p>}
          {canForce && (live || force) && (
            <label class="check">
              <input
                type="checkbox"
                checked={force}
                onChange={(e) => setForce((e.target as HTMLInputElement).checked)}
              />
              <span>{t('cmd.force')}</span>
            </label>
          )}
          {force && (
            <label class="field">
              <span>{t('cmd.reason')}</span>
              <input value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} />
            </label>
          )}
          {error && (
            <p class="form-error" role="alert" data-testid="command-error">
              {error}
            </p>
          )}
          <div class="modal-actions">
            <button type="button" class="btn ghost" onClick={props.onClose}>
              {t('cmd.cancel')}
            </button>
            <button
              type="button"
              class={`btn ${REFUSED_IN_MEETING.has(type) || affected.length > 0 ? 'danger' : 'primary'}`}
              data-testid="confirm-send"
              disabled={busy || n === 0 || (force && reason.trim().length < 3)}
              onClick={() => void send()}
            >
              {t('cmd.send', { n })}
            </button>
          </div>
        </>
      )}
    </Modal>
  );
}

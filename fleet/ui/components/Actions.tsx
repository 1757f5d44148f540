// Remote actions for one box or a whole subtree. Nothing is sent before the
// operator has read how many boxes it touches (and how many are offline).
import { useMemo, useState } from 'preact/hooks';
import { ApiError } from '../api/client.js';
import type { CommandType } from '../api/types.js';
import { useI18n } from '../i18n/i18n.js';
import { devicesUnder } from '../state/derive.js';
import { useApp, useSnapshot } from '../state/hooks.js';
import { Modal } from './Modal.js';

export type ActionTarget =
  | { kind: 'site'; siteId: string; name: string }
  | { kind: 'device'; deviceId: string; name: string };

const ACTIONS: CommandType[] = ['reboot', 'restart-agent', 'restart-media', 'identify', 'self-test'];
const DISRUPTIVE = new Set<CommandType>(['reboot', 'restart-media']);

export function Actions(props: { target: ActionTarget; compact?: boolean }) {
  const { t } = useI18n();
  const snap = useSnapshot();
  const [pending, setPending] = useState<CommandType | null>(null);
  if (snap.operator?.role === 'viewer') return null;
  const buttons = ACTIONS.map((a) => (
    <button type="button" key={a} class={`btn${DISRUPTIVE.has(a) ? ' warn' : ''}`} data-action={a}
      onClick={() => setPending(a)}>{t(`cmd.${a}`)}</button>
  ));
  return (
    <>
      {props.compact ? (
        <details class="menu">
          <summary class="btn ghost small" aria-label={t('grid.actions', { name: props.target.name })}>{t('cmd.actions')} ▾</summary>
          <div class="menu-pop">{buttons}</div>
        </details>
      ) : <div class="actions" role="group" aria-label={t('cmd.actions')}>{buttons}</div>}
      {pending && <ConfirmCommand type={pending} target={props.target} onClose={() => setPending(null)} />}
    </>
  );
}

function ConfirmCommand(props: { type: CommandType; target: ActionTarget; onClose(): void }) {
  const { t } = useI18n();
  const { api, store } = useApp();
  const snap = useSnapshot();
  const { target, type } = props;
  const boxes = useMemo(() => target.kind === 'device'
    ? snap.devices.filter((d) => d.id === target.deviceId)
    : devicesUnder(target.siteId, snap.sites, snap.devices), [target, snap.sites, snap.devices]);
  const offline = boxes.filter((d) => !d.online).length;
  const [force, setForce] = useState(false);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<number | null>(null);
  const cmd = t(`cmd.${type}`);

  const send = async () => {
    setBusy(true);
    setError(null);
    const body = { type, ...(force ? { force: { reason: reason.trim() } } : {}) };
    try {
      if (target.kind === 'device') {
        const c = await api.post<{ id: string }>(`/api/v1/devices/${encodeURIComponent(target.deviceId)}/commands`, body);
        store.trackCommand(c.id);
        setDone(1);
      } else {
        const out = await api.post<{ batchId: string; items: unknown[] }>(`/api/v1/sites/${encodeURIComponent(target.siteId)}/commands`, body);
        store.trackBatch(out.batchId);
        setDone(out.items.length);
      }
    } catch (err) {
      if (err instanceof ApiError && err.unsupported) setError(t('cmd.unsupported'));
      else if (err instanceof ApiError && err.status === 403) setError(t('cmd.forbidden'));
      else {
        if (err instanceof ApiError && err.code === 'FLEET_ERR_SITE_IN_MEETING') setForce(true);
        setError(err instanceof Error ? err.message : String(err));
      }
    } finally {
      setBusy(false);
    }
  };

  const n = boxes.length;
  return (
    <Modal title={t('cmd.confirmTitle', { cmd })} onClose={props.onClose}>
      {done !== null ? (
        <>
          <p class="ok-line" role="status" data-testid="command-sent">{t('cmd.sent', { cmd, n: done })}</p>
          <div class="modal-actions"><button type="button" class="btn primary" onClick={props.onClose}>{t('common.close')}</button></div>
        </>
      ) : (
        <>
          <p class="confirm-count" data-testid="confirm-count" data-count={n}>
            {n === 0 ? t('cmd.confirmNone', { target: target.name })
              : target.kind === 'device' ? t('cmd.confirmOne', { target: target.name })
              : t('cmd.confirmMany', { n, target: target.name })}
          </p>
          {offline > 0 && <p class="muted">{t('cmd.confirmOffline', { n: offline })}</p>}
          {DISRUPTIVE.has(type) && (
            <label class="check">
              <input type="checkbox" checked={force} onChange={(e) => setForce((e.target as HTMLInputElement).checked)} />
              <span>{t('cmd.force')}</span>
            </label>
          )}
          {force && (
            <label class="field">
              <span>{t('cmd.reason')}</span>
              <input value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} />
            </label>
          )}
          {error && <p class="form-error" role="alert">{error}</p>}
          <div class="modal-actions">
            <button type="button" class="btn ghost" onClick={props.onClose}>{t('cmd.cancel')}</button>
            <button type="button" class={`btn ${DISRUPTIVE.has(type) ? 'danger' : 'primary'}`} data-testid="confirm-send"
              disabled={busy || n === 0 || (force && reason.trim().length < 3)} onClick={() => void send()}>
              {t('cmd.send', { n })}
            </button>
          </div>
        </>
      )}
    </Modal>
  );
}

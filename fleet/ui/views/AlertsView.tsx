// Alerts: open first, newest first; a relay group's outage is one row that expands
// to its sites; each open alert can be acknowledged with a note.
import { useMemo, useState } from 'preact/hooks';
import type { Alert, Site } from '../api/types.js';
import { alertFamily, alertDetail, alertLabel } from '../components/alertText.js';
import { Modal } from '../components/Modal.js';
import { useI18n } from '../i18n/i18n.js';
import { errorText } from '../i18n/errors.js';
import { alertMeeting } from '../state/alert-meeting.js';
import { groupAlerts, outageSites, type AlertRow, type SiteState } from '../state/derive.js';
import { hrefSite, useApp, useNow, useSnapshot } from '../state/hooks.js';
import { useFleetModel } from '../state/model.js';

export function AlertsView() {
  const { t } = useI18n();
  const snap = useSnapshot();
  const [showResolved, setShowResolved] = useState(false);
  const [acking, setAcking] = useState<Alert | null>(null);
  const rows = useMemo(() => groupAlerts(snap.alerts), [snap.alerts]);
  const open = rows.filter((r) => !r.alert.resolvedAt);
  const shown = showResolved ? rows : open;
  const m = useFleetModel();
  // "Every site is working" only when it is true: a decommissioned box or an agent down opens no alert.
  const quiet = [...m.states.values()].every((s) => !QUIET_STATES.includes(s));

  return (
    <div class="page alerts-page">
      <header class="page-head">
        <h1>{t('alerts.title')}</h1>
        <span class={`count-chip${open.length ? ' bad' : ' good'}`} data-testid="open-count">
          {t('alerts.openCount', { n: open.length })}
        </span>
        <label class="check push-right">
          <input
            type="checkbox"
            checked={showResolved}
            onChange={(e) => setShowResolved((e.target as HTMLInputElement).checked)}
          />
          <span>{t('alerts.showResolved')}</span>
        </label>
      </header>
      <NoAlertStates />
      {shown.length === 0 ? (
        <p class="empty good-empty">{t(quiet ? 'alerts.none' : 'alerts.noneOpen')}</p>
      ) : (
        <AlertTable rows={shown} onAck={setAcking} />
      )}
      {acking && <AckDialog alert={acking} onClose={() => setAcking(null)} />}
    </div>
  );
}

/** States that open no alert of their own but are not "working normally". */
const QUIET_STATES: readonly SiteState[] = ['revoked', 'media-only', 'offline'];

/** Sites in a state no open alert speaks for (decommissioned, agent down with media up), with the same words as the grid. */
function NoAlertStates() {
  const { t } = useI18n();
  const m = useFleetModel();
  const listed = m.sites.filter((s) => {
    const st = m.states.get(s.id);
    return st === 'revoked' || st === 'media-only';
  });
  if (listed.length === 0) return null;
  return (
    <section class="card" data-testid="alert-states">
      <h2>{t('alerts.otherStates')}</h2>
      <ul class="chips">
        {listed.map((s) => {
          const st = m.states.get(s.id)!;
          return (
            <li key={s.id} class={`chip st-${st}`} data-site={s.id} data-state={st}>
              <span class={`dot st-${st}`} aria-hidden="true" />
              <a href={hrefSite(s.id)}>{s.name}</a> · {t(`state.${st}`)}
            </li>
          );
        })}
      </ul>
    </section>
  );
}

export function AlertTable(props: { rows: AlertRow[]; onAck?(a: Alert): void; compact?: boolean }) {
  const { t } = useI18n();
  return (
    <table class="table alerts" data-testid="alerts-table">
      <thead>
        <tr>
          <th>{t('alerts.col.state')}</th>
          <th>{t('alerts.col.what')}</th>
          <th>{t('alerts.col.where')}</th>
          <th>{t('alerts.col.opened')}</th>
          <th>{t('alerts.col.duration')}</th>
          {!props.compact && <th>{t('alerts.col.ack')}</th>}
        </tr>
      </thead>
      {props.rows.map((r) => (
        <AlertRowView key={r.alert.id} row={r} onAck={props.onAck} compact={props.compact} />
      ))}
    </table>
  );
}

function AlertRowView(props: { row: AlertRow; onAck?(a: Alert): void; compact?: boolean }) {
  const i18n = useI18n();
  const { t } = i18n;
  const now = useNow();
  const m = useFleetModel();
  const [expanded, setExpanded] = useState(false);
  const a = props.row.alert;
  const isOpen = !a.resolvedAt;
  const outage = a.type === 'district-outage';
  const siteIds = outage
    ? [
        ...new Set(
          [...outageSites(a, m.siteOfDevice), ...props.row.children.map((c) => c.siteId ?? '')].filter(Boolean),
        ),
      ]
    : [];
  const site = a.siteId ? m.siteById.get(a.siteId) : undefined;
  // Where the site hangs, whatever the level above it is called.
  const parent = site?.parentId ? m.siteById.get(site.parentId) : undefined;
  const end = a.resolvedAt ? Date.parse(a.resolvedAt) : now;
  // Raised near a meeting: say which one, so the operator knows how long there is.
  const meeting = isOpen ? alertMeeting(a) : null;

  return (
    <tbody
      class={`alert-group${isOpen ? ' is-open' : ' is-resolved'} fam-${alertFamily(a.type)}${a.severity === 'critical' ? ' sev-critical' : ''}`}
      data-alert={a.id}
      data-type={a.type}
    >
      <tr>
        <td>
          <span class={`pill ${isOpen ? 'st-offline' : 'st-resolved'}`}>
            <span class="dot" />
            {isOpen ? t('alerts.open') : t('alerts.resolved')}
          </span>
        </td>
        <td class="what">
          {outage && (
            <button
              type="button"
              class={`chev${expanded ? ' open' : ''}`}
              aria-expanded={expanded}
              aria-label={t('alerts.expand')}
              data-testid="expand"
              onClick={() => setExpanded(!expanded)}
            >
              ▸
            </button>
          )}
          <strong>{alertLabel(i18n, a)}</strong>
          {outage && (
            <span class="sub">
              {t('alerts.outageSites', { n: siteIds.length, down: downCount(a, siteIds.length) })}
            </span>
          )}
          {!outage && alertDetail(i18n, a) && <span class="sub">{alertDetail(i18n, a)}</span>}
          {meeting && (
            <span class="sub meeting-line" data-testid="alert-meeting">
              {meeting.live
                ? t('alerts.meetingLive', { title: meeting.title })
                : t('alerts.meetingSoon', { title: meeting.title, time: i18n.time(meeting.startsAt) })}
            </span>
          )}
        </td>
        <td>
          {site ? <a href={hrefSite(site.id)}>{site.name}</a> : '—'}
          {parent && <span class="sub">{parent.name}</span>}
        </td>
        <td>
          <span title={i18n.time(a.openedAt)}>{i18n.ago(a.openedAt, now)}</span>
        </td>
        <td>{i18n.duration(end - Date.parse(a.openedAt))}</td>
        {!props.compact && (
          <td class="ack">
            {a.acknowledgedAt ? (
              <span class="acked" title={i18n.time(a.acknowledgedAt)}>
                ✓ {t('alerts.acked')}
                {a.acknowledgedBy ? ` · ${a.acknowledgedBy}` : ''}
                {a.ackNote && <span class="sub">“{a.ackNote}”</span>}
              </span>
            ) : isOpen && props.onAck ? (
              <button type="button" class="btn small" data-testid="ack" onClick={() => props.onAck!(a)}>
                {t('alerts.ack')}
              </button>
            ) : null}
            {isOpen && a.type === 'help-requested' && a.deviceId && <CalledBack deviceId={a.deviceId} />}
          </td>
        )}
      </tr>
      {outage && expanded && (
        <tr class="expansion">
          <td colSpan={props.compact ? 5 : 6}>
            <ul class="chips" data-testid="outage-sites">
              {sortOutageSites(siteIds, m.siteById, a.siteId).map((id) => {
                const s = m.siteById.get(id);
                const st = m.states.get(id) ?? 'nobox';
                return (
                  <li key={id}>
                    <a href={hrefSite(id)} class={`chip st-${st}`}>
                      <span class="dot" />
                      {s?.name ?? id}
                    </a>
                  </li>
                );
              })}
            </ul>
          </td>
        </tr>
      )}
    </tbody>
  );
}

function AckDialog(props: { alert: Alert; onClose(): void }) {
  const i18n = useI18n();
  const { t } = i18n;
  const { store } = useApp();
  const snap = useSnapshot();
  const [note, setNote] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const save = async () => {
    setBusy(true);
    setError(null);
    try {
      await store.acknowledge(String(props.alert.id), note.trim());
      props.onClose();
    } catch (err) {
      setError(errorText(i18n.lang, err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal title={t('alerts.ackTitle')} onClose={props.onClose}>
      <p>
        <strong>{alertLabel(i18n, props.alert)}</strong> · {i18n.time(props.alert.openedAt)}
      </p>
      {!snap.ackSupported ? (
        <p class="form-error">{t('alerts.ackUnsupported')}</p>
      ) : (
        <>
          <label class="field">
            <span>{t('alerts.ackNote')}</span>
            <textarea
              rows={3}
              maxLength={500}
              value={note}
              onInput={(e) => setNote((e.target as HTMLTextAreaElement).value)}
            />
          </label>
          {error && (
            <p class="form-error" role="alert">
              {error}
            </p>
          )}
          <div class="modal-actions">
            <button type="button" class="btn ghost" onClick={props.onClose}>
              {t('cmd.cancel')}
            </button>
            <button
              type="button"
              class="btn primary"
              data-testid="ack-save"
              disabled={busy}
              onClick={() => void save()}
            >
              {t('alerts.ackSave')}
            </button>
          </div>
        </>
      )}
    </Modal>
  );
}

/** The hub (the alert's site) first, then the sites behind it by name. */
function sortOutageSites(ids: string[], byId: ReadonlyMap<string, Site>, hubId: string | null): string[] {
  const rank = (id: string) => (id === hubId ? 0 : 1);
  return [...ids].sort(
    (a, b) => rank(a) - rank(b) || (byId.get(a)?.name ?? a).localeCompare(byId.get(b)?.name ?? b, 'vi'),
  );
}

/** Closes a help request once someone at the province has called the site back. */
function CalledBack(props: { deviceId: string }) {
  const { t } = useI18n();
  const { api, store } = useApp();
  const [error, setError] = useState<string | null>(null);
  const done = () =>
    api
      .post(`/api/v1/devices/${encodeURIComponent(props.deviceId)}/help/resolve`, {})
      .then(() => store.reloadAlertsSoon())
      .catch((e: unknown) => setError(String(e)));
  return (
    <>
      <button type="button" class="btn small primary help-done" onClick={() => void done()}>
        {t('alerts.calledBack')}
      </button>
      {error && <span class="sub bad-text">{error}</span>}
    </>
  );
}

/** How many of an outage's devices are still down (the fleet keeps `details.offline` current). */
function downCount(a: Alert, fallback: number): number {
  const off = a.details?.offline;
  return Array.isArray(off) ? off.length : fallback;
}

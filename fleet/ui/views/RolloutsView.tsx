// Rollouts: each release going out ring by ring, with progress per ring and
// the controls an administrator needs when something looks wrong.
import { useEffect, useState } from 'preact/hooks';
import type { RingProgress, Rollout } from '../api/types.js';
import { Modal } from '../components/Modal.js';
import { useI18n } from '../i18n/i18n.js';
import { useApp, useNow, useSnapshot } from '../state/hooks.js';
import { devicesUnder, meetingsAt } from '../state/derive.js';
import { errorText } from '../i18n/errors.js';
import { useFleetModel } from '../state/model.js';

const STATE_CLASS: Record<Rollout['state'], string> = {
  running: 'st-updating',
  paused: 'st-degraded',
  aborted: 'st-offline',
  completed: 'st-online',
};

export function RolloutsView() {
  const i18n = useI18n();
  const { t, tx } = i18n;
  const { store } = useApp();
  const snap = useSnapshot();
  const m = useFleetModel();
  const [aborting, setAborting] = useState<Rollout | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => store.reloadRollouts(), [store]);
  const isAdmin = snap.operator?.role === 'admin';
  const [resuming, setResuming] = useState<Rollout | null>(null);
  const act = (id: string, action: 'pause' | 'resume') =>
    store.rolloutAction(id, action).catch((e: unknown) => setError(errorText(i18n.lang, e)));
  const list = snap.rollouts ?? [];
  return (
    <div class="page">
      <header class="page-head">
        <h1>{t('ota.title')}</h1>
      </header>
      {error && <p class="form-error">{error}</p>}
      {list.length === 0 && <p class="empty">{t('ota.none')}</p>}
      {list.map((r) => (
        <section class="card rollout" key={r.id} data-rollout={r.id}>
          <header class="rollout-head">
            <h2>
              {r.spec.os
                ? t('ota.osSnapshot', { v: r.spec.os.snapshot })
                : t('ota.release', { v: r.spec.release ?? '' })}
            </h2>
            <span class={`pill ${STATE_CLASS[r.state]}`}>
              <span class="dot" />
              {tx('ota.state', r.state)}
            </span>
            <span class="muted">
              {r.spec.rootSiteId ? (m.siteById.get(r.spec.rootSiteId)?.name ?? r.spec.rootSiteId) : t('grid.all')} ·{' '}
              {i18n.time(r.createdAt)}
            </span>
            {isAdmin && (
              <span class="push-right actions">
                {r.state === 'running' && (
                  <button class="btn small" onClick={() => void act(r.id, 'pause')}>
                    {t('ota.pause')}
                  </button>
                )}
                {r.state === 'paused' && (
                  <button class="btn small" data-testid="resume" onClick={() => setResuming(r)}>
                    {t('ota.resume')}
                  </button>
                )}
                {(r.state === 'running' || r.state === 'paused') && (
                  <button class="btn small danger" onClick={() => setAborting(r)}>
                    {t('ota.abort')}
                  </button>
                )}
              </span>
            )}
          </header>
          {r.reason && <p class="muted">{r.reason}</p>}
          <div class="rings">
            {r.rings.map((ring) => (
              <Ring key={ring.ring} ring={ring} current={r.currentRing === ring.ring} />
            ))}
          </div>
          {r.skippedBusy.length > 0 && <p class="muted small">{t('ota.skippedBusy', { n: r.skippedBusy.length })}</p>}
        </section>
      ))}
      {aborting && <AbortDialog rollout={aborting} onClose={() => setAborting(null)} />}
      {resuming && (
        <ResumeDialog
          rollout={resuming}
          onResume={() => {
            void act(resuming.id, 'resume');
            setResuming(null);
          }}
          onClose={() => setResuming(null)}
        />
      )}
    </div>
  );
}

/**
 * Resuming sends updates out again: the confirmation names the meetings on
 * now or within half an hour in the rollout's area. The fleet holds back the
 * boxes of a live meeting by itself; an imminent one is the operator's call.
 */
function ResumeDialog(props: { rollout: Rollout; onResume(): void; onClose(): void }) {
  const i18n = useI18n();
  const { t } = i18n;
  const snap = useSnapshot();
  const m = useFleetModel();
  const now = useNow(15_000);
  const root = props.rollout.spec.rootSiteId;
  const area = root ? devicesUnder(root, snap.sites, snap.devices).map((d) => d.siteId) : snap.sites.map((s) => s.id);
  const hits = meetingsAt(area, snap.meetings, now, 30 * 60_000);
  const name = (id: string) => m.siteById.get(id)?.name ?? id;
  return (
    <Modal
      title={t('ota.resumeTitle', { v: props.rollout.spec.release ?? props.rollout.spec.os?.snapshot ?? '' })}
      onClose={props.onClose}
    >
      {hits.length > 0 && (
        <div class={`banner ${hits.some((h) => h.live) ? 'error' : 'warn'}`} role="alert" data-testid="meeting-warning">
          {hits.map((h) => (
            <p key={h.meeting.id}>
              {t(h.live ? 'cmd.meetingLive' : 'cmd.meetingSoon', {
                title: h.meeting.title,
                time: i18n.time(h.meeting.startsAt),
                chair: name(h.meeting.chairSiteId),
                sites:
                  h.siteIds.map(name).slice(0, 3).join(', ') +
                  (h.siteIds.length > 3 ? ` (+${h.siteIds.length - 3})` : ''),
              })}
            </p>
          ))}
          <p>
            {t('cmd.interrupts.update')} {t('ota.heldBack')}
          </p>
        </div>
      )}
      <p>{t('ota.resumeBody')}</p>
      <div class="modal-actions">
        <button type="button" class="btn ghost" onClick={props.onClose}>
          {t('cmd.cancel')}
        </button>
        <button
          type="button"
          class={`btn ${hits.length > 0 ? 'danger' : 'primary'}`}
          data-testid="resume-confirm"
          onClick={props.onResume}
        >
          {t('ota.resume')}
        </button>
      </div>
    </Modal>
  );
}

function Ring(props: { ring: RingProgress; current: boolean }) {
  const { t } = useI18n();
  const r = props.ring;
  const pct = (n: number) => (r.total > 0 ? `${(100 * n) / r.total}%` : '0');
  return (
    <div class={`ring${props.current ? ' current' : ''}`}>
      <div class="ring-label">
        <strong>{r.name}</strong>
        <span class="muted">
          {r.succeeded}/{r.total}
        </span>
      </div>
      <div class="ring-bar" aria-hidden="true">
        <span class="seg-online" style={{ width: pct(r.succeeded) }} />
        <span class="seg-updating" style={{ width: pct(r.inFlight) }} />
        <span class="seg-offline" style={{ width: pct(r.failed) }} />
      </div>
      <div class="ring-counts muted small">
        {t('ota.counts', { ok: r.succeeded, flight: r.inFlight, failed: r.failed, pending: r.pending })}
      </div>
    </div>
  );
}

function AbortDialog(props: { rollout: Rollout; onClose(): void }) {
  const { t } = useI18n();
  const { store } = useApp();
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = async () => {
    try {
      await store.rolloutAction(props.rollout.id, 'abort', reason.trim());
      props.onClose();
    } catch (e) {
      setError(String(e));
    }
  };
  return (
    <Modal
      title={t('ota.abortTitle', { v: props.rollout.spec.release ?? props.rollout.spec.os?.snapshot ?? '' })}
      onClose={props.onClose}
    >
      <p>{t('ota.abortBody')}</p>
      <label class="field">
        <span>{t('cmd.reason')}</span>
        <input value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} />
      </label>
      {error && <p class="form-error">{error}</p>}
      <div class="modal-actions">
        <button class="btn ghost" onClick={props.onClose}>
          {t('cmd.cancel')}
        </button>
        <button class="btn danger" disabled={reason.trim().length < 3} onClick={() => void submit()}>
          {t('ota.abort')}
        </button>
      </div>
    </Modal>
  );
}

// The chair's console for a live meeting: who speaks, who has the floor, mute
// all, the roll call stepping through the sites, the rooms asking to speak, the
// roster by the hierarchy's groups with each room's state in words, and end.
// Laid out for the chairing site's operator on a 1024×768 tablet: controls on
// the left, the roster on the right, every button a finger wide.
import { useState } from 'preact/hooks';
import { ApiError } from '../api/client.js';
import type { MeetingDetail } from '../api/types.js';
import { useI18n, type MsgKey } from '../i18n/i18n.js';
import { useApp } from '../state/hooks.js';
import { useFleetModel } from '../state/model.js';
import { nextInRollCall, roomStates, type RoomState } from '../state/room-state.js';
import { RollCallRoom } from './RollCallRoom.js';

type Control =
  { path: 'mute-all'; body: { muted: boolean } } | { path: 'floor' | 'roll-call'; body: { siteId: string | null } };

export function ChairConsole(props: { detail: MeetingDetail; onChanged(): void }) {
  const { t, time } = useI18n();
  const { api } = useApp();
  const m = useFleetModel();
  const d = props.detail;
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [confirmEnd, setConfirmEnd] = useState(false);
  const base = `/api/v1/meetings/${encodeURIComponent(d.id)}`;
  const nameOf = (id: string | null | undefined): string => (id ? (m.siteById.get(id)?.name ?? id) : '');

  const run = async (call: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await call();
    } catch (err) {
      const key: MsgKey =
        err instanceof ApiError && err.status === 403
          ? 'chair.err.forbidden'
          : err instanceof ApiError && err.status === 409
            ? 'chair.err.ended'
            : 'chair.err.other';
      setError(t(key));
    } finally {
      setBusy(false);
      props.onChanged();
    }
  };
  const control = (c: Control) => run(() => api.post(`${base}/${c.path}`, c.body));

  const rooms = roomStates(d, m.states);
  const byId = new Map(rooms.map((r) => [r.siteId, r]));
  // The roster in the hierarchy's groups (relay groups or districts, whatever the dataset's depth), chair's group first.
  const members = new Set(rooms.map((r) => r.siteId));
  const groups = m.groups
    .map((g) => ({ key: g.key, name: g.name, sites: g.sites.filter((s) => members.has(s.id)) }))
    .filter((g) => g.sites.length > 0);
  const listed = new Set(groups.flatMap((g) => g.sites.map((s) => s.id)));
  const strays = rooms.filter((r) => !listed.has(r.siteId)).map((r) => r.siteId);
  const order = [...groups.flatMap((g) => g.sites.map((s) => s.id)), ...strays].filter((id) => id !== d.chairSiteId);
  const speaker = rooms.find((r) => r.speaking)?.siteId ?? null;
  const rollIndex = d.rollCallSiteId ? order.indexOf(d.rollCallSiteId) : -1;
  const requests = d.requests ?? [];
  const liveOf = (siteId: string) => d.stats.find((s) => s.siteId === siteId);

  return (
    <div class="chair" data-testid="chair-console">
      <section class="chair-controls" aria-label={t('chair.title')}>
        <div class="chair-now">
          <div class="chair-now-label">{t('chair.speaker')}</div>
          <div class="chair-now-name" data-testid="chair-speaker">
            {speaker ? nameOf(speaker) : <span class="muted">{t('chair.nobodySpeaks')}</span>}
          </div>
          <div class="chair-now-label">{t('chair.floor')}</div>
          <div class="chair-now-name" data-testid="chair-floor">
            {d.floorSiteId ? nameOf(d.floorSiteId) : <span class="muted">{t('chair.noFloor')}</span>}
          </div>
          {d.floorSiteId && (
            <button
              type="button"
              class="btn"
              disabled={busy}
              data-testid="take-floor"
              onClick={() => control({ path: 'floor', body: { siteId: null } })}
            >
              {t('chair.takeFloor')}
            </button>
          )}
        </div>

        <div class="chair-box" data-testid="requests">
          <h2>
            {t('chair.requests')} {requests.length > 0 && <span class="badge">{requests.length}</span>}
          </h2>
          {requests.length === 0 ? (
            <p class="muted">{t('chair.requests.none')}</p>
          ) : (
            <ul class="chair-requests">
              {requests.map((r) => (
                <li key={r.siteId} data-site={r.siteId}>
                  <div>
                    <strong>{nameOf(r.siteId)}</strong>
                    <div class="muted small">
                      {t(r.source === 'browser' ? 'chair.request.browser' : 'chair.request.at', { time: time(r.at) })}
                    </div>
                  </div>
                  <div class="chair-row">
                    <button
                      type="button"
                      class="btn primary"
                      disabled={busy}
                      data-testid="grant"
                      onClick={() => control({ path: 'floor', body: { siteId: r.siteId } })}
                    >
                      {t('chair.giveFloor')}
                    </button>
                    <button
                      type="button"
                      class="btn"
                      disabled={busy}
                      onClick={() => run(() => api.del(`${base}/requests/${encodeURIComponent(r.siteId)}`))}
                    >
                      {t('chair.request.dismiss')}
                    </button>
                  </div>
                </li>
              ))}
            </ul>
          )}
        </div>

        <button
          type="button"
          class={`btn chair-big ${d.mutedAll ? 'primary' : ''}`}
          aria-pressed={d.mutedAll ? 'true' : 'false'}
          disabled={busy}
          data-testid="mute-all"
          onClick={() => control({ path: 'mute-all', body: { muted: !d.mutedAll } })}
        >
          {d.mutedAll ? t('chair.unmuteAll') : t('chair.muteAll')}
        </button>
        {d.mutedAll && <p class="chair-note">{t('chair.mutedAll')}</p>}

        <div class="chair-box" data-testid="roll-call">
          <h2>{t('chair.rollCall')}</h2>
          {d.rollCallSiteId ? (
            <>
              <p class="chair-roll-at">{t('chair.rollCall.at', { n: rollIndex + 1, total: order.length })}</p>
              <p class="chair-now-name" data-testid="roll-call-site">
                {nameOf(d.rollCallSiteId)}
              </p>
              <RoomLine r={byId.get(d.rollCallSiteId)} />
              <RollCallRoom
                meetingId={d.id}
                siteId={d.rollCallSiteId}
                name={nameOf(d.rollCallSiteId)}
                {...(liveOf(d.rollCallSiteId) ? { live: liveOf(d.rollCallSiteId)! } : {})}
              />
              <p class="muted">{t('chair.rollCall.tv')}</p>
              <div class="chair-row">
                <button
                  type="button"
                  class="btn"
                  disabled={busy || rollIndex <= 0}
                  onClick={() =>
                    control({
                      path: 'roll-call',
                      body: { siteId: nextInRollCall(order, d.rollCallSiteId ?? null, -1) },
                    })
                  }
                >
                  {t('chair.rollCall.prev')}
                </button>
                <button
                  type="button"
                  class="btn primary"
                  data-testid="roll-call-next"
                  disabled={busy || rollIndex >= order.length - 1}
                  onClick={() =>
                    control({ path: 'roll-call', body: { siteId: nextInRollCall(order, d.rollCallSiteId ?? null, 1) } })
                  }
                >
                  {t('chair.rollCall.next')}
                </button>
              </div>
              <button
                type="button"
                class="btn wide"
                disabled={busy}
                data-testid="roll-call-stop"
                onClick={() => control({ path: 'roll-call', body: { siteId: null } })}
              >
                {t('chair.rollCall.stop')}
              </button>
            </>
          ) : (
            <>
              <p class="muted">{t('chair.rollCall.idle')}</p>
              <button
                type="button"
                class="btn wide"
                disabled={busy || order.length === 0}
                data-testid="roll-call-start"
                onClick={() => control({ path: 'roll-call', body: { siteId: nextInRollCall(order, null, 1) } })}
              >
                {t('chair.rollCall.start')}
              </button>
            </>
          )}
        </div>

        {error && (
          <p class="form-error" role="alert">
            {error}
          </p>
        )}
        {confirmEnd ? (
          <div class="chair-box chair-end" role="alertdialog" aria-label={t('chair.end')}>
            <p>{t('chair.end.confirm', { title: d.title, n: rooms.length })}</p>
            <div class="chair-row">
              <button
                type="button"
                class="btn danger"
                disabled={busy}
                data-testid="end-confirm"
                onClick={() => run(() => api.post(`${base}/end`, {}))}
              >
                {t('chair.end.yes')}
              </button>
              <button type="button" class="btn" onClick={() => setConfirmEnd(false)}>
                {t('chair.cancel')}
              </button>
            </div>
          </div>
        ) : (
          <button
            type="button"
            class="btn danger wide"
            disabled={busy}
            data-testid="end-meeting"
            onClick={() => setConfirmEnd(true)}
          >
            {t('chair.end')}
          </button>
        )}
      </section>

      <section class="chair-roster" aria-label={t('chair.roster')} data-testid="roster">
        {[
          ...groups,
          ...(strays.length > 0 ? [{ key: 'other', name: null, sites: strays.map((id) => ({ id })) }] : []),
        ].map((g) => {
          const inGroup = g.sites.map((s) => byId.get(s.id)!).filter(Boolean);
          const on = inGroup.filter((r) => r.link === 'in-meeting').length;
          return (
            <div class="chair-group" key={g.key} data-group={g.key}>
              <h2>
                {g.name ?? t('chair.group.province')}{' '}
                <span class="muted small">{t('chair.group.count', { on, n: inGroup.length })}</span>
              </h2>
              <ul>
                {inGroup.map((r) => (
                  <li
                    key={r.siteId}
                    class={`chair-room ${r.speaking ? 'speaking' : ''} ${r.floor ? 'floor' : ''}`}
                    data-site={r.siteId}
                    data-link={r.link}
                  >
                    <div class="chair-room-name">
                      <strong>{nameOf(r.siteId)}</strong>
                      {r.chair && <span class="tag">{t('chair.role.chair')}</span>}
                      {r.floor && <span class="tag on">{t('chair.floor')}</span>}
                      {r.speaking && <span class="tag on">{t('chair.speaker')}</span>}
                    </div>
                    <RoomLine r={r} />
                    {!r.chair &&
                      (r.floor ? (
                        <button
                          type="button"
                          class="btn"
                          disabled={busy}
                          onClick={() => control({ path: 'floor', body: { siteId: null } })}
                        >
                          {t('chair.takeFloor')}
                        </button>
                      ) : (
                        <button
                          type="button"
                          class="btn"
                          disabled={busy}
                          data-testid="give-floor"
                          onClick={() => control({ path: 'floor', body: { siteId: r.siteId } })}
                        >
                          {t('chair.giveFloor')}
                        </button>
                      ))}
                  </li>
                ))}
              </ul>
            </div>
          );
        })}
      </section>
    </div>
  );
}

/** A room's state in words: its link, what it sends and receives, the chair's mute, and the measured quality. */
function RoomLine(props: { r: RoomState | undefined }) {
  const { t } = useI18n();
  const r = props.r;
  if (!r) return null;
  const sends = [r.sendingVideo && t('chair.send.video'), r.sendingAudio && !r.mutedByChair && t('chair.send.audio')]
    .filter(Boolean)
    .join(', ');
  const up = r.link === 'in-meeting' || r.link === 'agent-down-media-up';
  return (
    <div class="chair-room-state">
      <span class={`link-word lk-${r.link}`} data-testid="room-link">
        {t(`chair.link.${r.link}` as MsgKey)}
      </span>
      {up && <span>{sends || t('chair.send.none')}</span>}
      {up && r.link === 'in-meeting' && <span>{r.receiving ? t('chair.recv') : t('chair.recv.none')}</span>}
      {r.mutedByChair && (
        <span class="muted-mic" data-testid="room-muted">
          {t('chair.muted')}
        </span>
      )}
      {r.quality && <span class={`q q-${r.quality}`}>{t(`chair.q.${r.quality}` as MsgKey)}</span>}
    </div>
  );
}

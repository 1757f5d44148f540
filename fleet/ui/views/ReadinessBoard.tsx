// The readiness board of one meeting, for the chair and the province: each
// site's colour in words (green, amber, red), why, and what its link measured.
// Filled by the check that starts `leadMin` before the meeting; the results
// stay with the meeting, so the board still reads after it starts.
import { useEffect, useState } from 'preact/hooks';
import type { ReadinessBoard as Board, ReadinessSite } from '../api/types.js';
import { errorText } from '../i18n/errors.js';
import { useI18n, type MsgKey } from '../i18n/i18n.js';
import { hrefSite, useApp, useNow, useSnapshot } from '../state/hooks.js';

/** The pill's look for a colour: the dashboard's own state colours. */
export const READY_LOOK: Record<ReadinessSite['colour'], string> = {
  green: 'st-online',
  amber: 'st-degraded',
  red: 'st-offline',
  pending: 'st-nobox',
};

export function ReadyPill(props: { colour: ReadinessSite['colour'] }) {
  const { t } = useI18n();
  return (
    <span class={`pill ${READY_LOOK[props.colour]}`} data-ready={props.colour}>
      <span class="dot" />
      {t(`ready.colour.${props.colour}` as MsgKey)}
    </span>
  );
}

/** GET /api/v1/meetings/{id}/readiness, again whenever meetings change (a report arrived) and every 10 s. */
export function useReadiness(meetingId: string): { board: Board | null; error: string | null; reload(): void } {
  const i18n = useI18n();
  const { api } = useApp();
  const tick = useNow(10_000);
  const meetingsNow = useSnapshot().meetings;
  const [bump, setBump] = useState(0);
  const [board, setBoard] = useState<Board | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    api
      .get<Board>(`/api/v1/meetings/${encodeURIComponent(meetingId)}/readiness`)
      .then((b) => {
        if (!live) return;
        setBoard(b);
        setError(null);
      })
      .catch((err: unknown) => {
        if (live) setError(errorText(i18n.lang, err));
      });
    return () => {
      live = false;
    };
  }, [api, meetingId, tick, meetingsNow, bump]);
  return { board, error, reload: () => setBump((n) => n + 1) };
}

export function ReadinessBoard(props: { meetingId: string }) {
  const i18n = useI18n();
  const { t } = i18n;
  const { api } = useApp();
  const snap = useSnapshot();
  const { board, error, reload } = useReadiness(props.meetingId);
  const [asking, setAsking] = useState(false);
  if (!board) return error ? <p class="bad-text">{t('ready.error', { msg: error })}</p> : null;
  // A meeting started on the spot was never checked: nothing to show.
  if (board.sites.length === 0 && board.state !== 'scheduled') return null;
  const mayAsk = snap.operator?.role !== 'viewer' && board.state !== 'ended';
  const again = async () => {
    setAsking(true);
    try {
      await api.post(`/api/v1/meetings/${encodeURIComponent(board.meetingId)}/readiness`, {});
    } catch {
      /* the board below shows what the fleet has */
    } finally {
      setAsking(false);
      reload();
    }
  };
  const c = board.counts;
  return (
    <section class="card ready-board" aria-labelledby="ready-title" data-testid="readiness-board">
      <header class="ready-head">
        <h2 id="ready-title">{t('ready.title')}</h2>
        {mayAsk && board.sites.length > 0 && (
          <button type="button" class="btn" disabled={asking} onClick={() => void again()} data-testid="ready-rerun">
            {asking ? t('ready.rerunning') : t('ready.rerun')}
          </button>
        )}
      </header>
      {board.sites.length === 0 ? (
        <p class="muted">{t('ready.notYet', { min: board.leadMin })}</p>
      ) : (
        <>
          <p class="muted">
            {t('ready.lead', { min: board.leadMin })}{' '}
            <strong data-testid="ready-counts">
              {t('ready.counts', { red: c.red, amber: c.amber, green: c.green, pending: c.pending })}
            </strong>
          </p>
          <table class="table" data-testid="readiness-table">
            <thead>
              <tr>
                <th>{t('ready.col.site')}</th>
                <th>{t('ready.col.state')}</th>
                <th>{t('ready.col.why')}</th>
                <th>{t('ready.col.link')}</th>
              </tr>
            </thead>
            <tbody>
              {board.sites.map((s) => (
                <tr key={s.siteId} data-site={s.siteId} data-colour={s.colour}>
                  <td>
                    <a href={hrefSite(s.siteId)}>{s.siteName}</a>
                  </td>
                  <td>
                    <ReadyPill colour={s.colour} />
                  </td>
                  <td>
                    {s.reasons.length > 0 ? (
                      <ul class="ready-reasons">
                        {s.reasons.map((r) => (
                          <li key={r.code} class={r.level === 'red' ? 'bad-text' : ''}>
                            {r[i18n.lang]}
                          </li>
                        ))}
                      </ul>
                    ) : s.colour === 'pending' && s.runAt ? (
                      <span class="muted">{t('ready.slot', { time: i18n.time(s.runAt) })}</span>
                    ) : (
                      '—'
                    )}
                  </td>
                  <td>
                    <LinkFigures site={s} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

/** What the probe measured, in words and units people use; the host has no link to measure. */
export function LinkFigures(props: { site: ReadinessSite }) {
  const i18n = useI18n();
  const m = props.site.measured;
  if (!m) return <>—</>;
  if (!m.link) return <span class="muted">{i18n.t('ready.hosts')}</span>;
  return (
    <>
      {i18n.t('ready.link', {
        loss: i18n.num(m.link.lossRate * 100, 1),
        rtt: m.link.rttMsP50 === null ? '—' : i18n.num(m.link.rttMsP50),
        mbit: i18n.num(m.link.throughputKbps / 1000, 1),
      })}
    </>
  );
}

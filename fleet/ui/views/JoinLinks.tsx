// Join links of one meeting: an operator picks one of the meeting's sites in
// its area, a role and a validity, and gets a link for a laptop, phone or
// tablet to join at that site (POST /api/v1/meetings/{id}/join-links). The
// fleet returns the link only then, so the panel shows it once, with a copy
// button and a QR code to scan, and says that the phone must trust the
// province's certificate first (with a link to its page when the fleet has a
// province CA). Below, the links issued (never the links themselves) with
// their state, and a revoke that the site's edge enforces. Viewers see no
// panel: the fleet neither issues nor lists links for them.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { IssuedJoinLink, JoinLink, MeetingDetail } from '../api/types.js';
import { QrCode } from '../components/QrCode.js';
import { errorText } from '../i18n/errors.js';
import { useI18n, type MsgKey } from '../i18n/i18n.js';
import { useApp, useNow, useSnapshot } from '../state/hooks.js';
import {
  clampTtl,
  DEFAULT_TTL_MIN,
  joinLinkErrorKey,
  MAX_TTL_MIN,
  mayIssueLinks,
  offeredSites,
} from '../state/join-links.js';
import { useFleetModel } from '../state/model.js';

const STATE_LOOK: Record<IssuedJoinLink['state'], string> = {
  active: 'st-online',
  expired: 'st-nobox',
  revoked: 'st-offline',
};

export function JoinLinks(props: { detail: MeetingDetail }) {
  const i18n = useI18n();
  const { t } = i18n;
  const { api } = useApp();
  const snap = useSnapshot();
  const m = useFleetModel();
  const d = props.detail;
  const base = `/api/v1/meetings/${encodeURIComponent(d.id)}/join-links`;
  const nameOf = (id: string): string => m.siteById.get(id)?.name ?? id;
  const { offered, outside } = offeredSites(d, (id) => m.siteById.has(id));

  const [siteId, setSiteId] = useState(offered[0] ?? '');
  const [role, setRole] = useState<'participant' | 'listener'>('participant');
  const [ttl, setTtl] = useState(DEFAULT_TTL_MIN);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [issued, setIssued] = useState<JoinLink | null>(null);
  const [links, setLinks] = useState<IssuedJoinLink[] | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<IssuedJoinLink | null>(null);
  const [bump, setBump] = useState(0);
  // A valid link turns expired on its own: the list is read again every 30 s.
  const tick = useNow(30_000);
  const allowed = mayIssueLinks(snap.operator);

  useEffect(() => {
    if (!allowed) return;
    let live = true;
    api
      .get<{ items: IssuedJoinLink[] }>(base)
      .then((r) => {
        if (!live) return;
        setLinks(r.items);
        setLoadError(null);
      })
      .catch((err: unknown) => {
        if (live) setLoadError(errorText(i18n.lang, err));
      });
    return () => {
      live = false;
    };
  }, [api, base, allowed, tick, bump]);

  // The site chosen stays offered when the lists change (another area, a reloaded meeting).
  useEffect(() => {
    if (!offered.includes(siteId)) setSiteId(offered[0] ?? '');
  }, [offered.join(',')]);

  if (!allowed) return null;
  const say = (err: unknown): string => {
    const key = joinLinkErrorKey(err);
    return key ? t(key) : errorText(i18n.lang, err);
  };
  const run = async (call: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await call();
    } catch (err) {
      setError(say(err));
    } finally {
      setBusy(false);
      setBump((n) => n + 1);
    }
  };
  const issue = () =>
    run(async () => {
      setIssued(null);
      setIssued(await api.post<JoinLink>(base, { siteId, role, ttlMin: clampTtl(ttl) }));
    });
  const revoke = (l: IssuedJoinLink) =>
    run(async () => {
      setConfirm(null);
      await api.del(`${base}/${encodeURIComponent(l.id)}`);
      // The link shown once is worth nothing now: it goes too.
      if (issued?.id === l.id) setIssued(null);
    });

  return (
    <section class="card join-links" data-testid="join-links" aria-labelledby="join-links-title">
      <h2 id="join-links-title">{t('join.title')}</h2>
      <p class="muted">{t('join.lead')}</p>
      {offered.length === 0 ? (
        <p class="muted" data-testid="join-no-site">
          {t('join.noSite')}
        </p>
      ) : (
        <form
          class="join-form"
          onSubmit={(e) => {
            e.preventDefault();
            void issue();
          }}
        >
          <label class="field">
            <span>{t('join.site')}</span>
            <select name="siteId" value={siteId} onChange={(e) => setSiteId((e.target as HTMLSelectElement).value)}>
              {offered.map((id) => (
                <option key={id} value={id}>
                  {nameOf(id)}
                  {id === d.chairSiteId ? ` (${t('meet.chair')})` : ''}
                </option>
              ))}
            </select>
          </label>
          <fieldset class="field join-roles">
            <legend>{t('join.role')}</legend>
            {(['participant', 'listener'] as const).map((r) => (
              <label class="check" key={r}>
                <input type="radio" name="role" value={r} checked={role === r} onChange={() => setRole(r)} />
                {t(`join.role.${r}`)}
              </label>
            ))}
          </fieldset>
          <label class="field">
            <span>{t('join.ttl', { max: MAX_TTL_MIN })}</span>
            <input
              type="number"
              name="ttlMin"
              min={1}
              max={MAX_TTL_MIN}
              step={1}
              value={ttl}
              onInput={(e) => setTtl(Number((e.target as HTMLInputElement).value))}
              onBlur={() => setTtl(clampTtl(ttl))}
            />
          </label>
          <button type="submit" class="btn primary" disabled={busy || siteId === ''} data-testid="join-issue">
            {busy ? t('join.issuing') : t('join.issue')}
          </button>
        </form>
      )}
      {outside > 0 && (
        <p class="muted small" data-testid="join-outside">
          {t('join.outside', { n: outside })}
        </p>
      )}
      {error && (
        <p class="form-error" role="alert" data-testid="join-error">
          {error}
        </p>
      )}
      {issued && <IssuedLink link={issued} siteName={nameOf(issued.siteId)} onClose={() => setIssued(null)} />}

      <h3>{t('join.list')}</h3>
      {loadError && <p class="bad-text">{t('join.err.load', { msg: loadError })}</p>}
      {links && links.length === 0 && <p class="muted">{t('join.none')}</p>}
      {links && links.length > 0 && (
        <table class="table" data-testid="join-list">
          <thead>
            <tr>
              <th>{t('join.col.site')}</th>
              <th>{t('join.col.role')}</th>
              <th>{t('join.col.by')}</th>
              <th>{t('join.col.expires')}</th>
              <th>{t('join.col.state')}</th>
              <th>
                <span class="sr-only">{t('join.revoke')}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {links.map((l) => (
              <tr key={l.id} data-link={l.id} data-site={l.siteId} data-state={l.state}>
                <td>{nameOf(l.siteId)}</td>
                <td>{t(`join.short.${l.role}` as MsgKey)}</td>
                <td>{l.issuedBy ? (snap.names.get(l.issuedBy) ?? l.issuedBy) : '—'}</td>
                <td>{i18n.time(l.expiresAt)}</td>
                <td>
                  <span class={`pill ${STATE_LOOK[l.state]}`}>
                    <span class="dot" />
                    {t(`join.state.${l.state}` as MsgKey)}
                  </span>
                  {l.state === 'revoked' && l.revokedAt && (
                    <div class="muted small">
                      {t('join.revokedBy', {
                        time: i18n.time(l.revokedAt),
                        who: l.revokedBy ? (snap.names.get(l.revokedBy) ?? l.revokedBy) : '—',
                      })}
                    </div>
                  )}
                </td>
                <td>
                  {l.state === 'active' && (
                    <button
                      type="button"
                      class="btn small danger"
                      disabled={busy}
                      data-testid="join-revoke"
                      onClick={() => setConfirm(l)}
                    >
                      {t('join.revoke')}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {confirm && (
        <div class="join-confirm" role="alertdialog" aria-label={t('join.revoke')} data-testid="join-confirm">
          <p>{t('join.revoke.confirm', { site: nameOf(confirm.siteId) })}</p>
          <div class="join-row">
            <button
              type="button"
              class="btn danger"
              disabled={busy}
              data-testid="join-revoke-yes"
              onClick={() => void revoke(confirm)}
            >
              {t('join.revoke.yes')}
            </button>
            <button type="button" class="btn" onClick={() => setConfirm(null)}>
              {t('join.revoke.no')}
            </button>
          </div>
        </div>
      )}
    </section>
  );
}

/**
 * Whether the fleet serves the province's certificate page (/ca): a fleet
 * with no province CA configured answers 404 there, and the panel then shows
 * the hint without a link to nowhere.
 */
function useProvinceCaServed(): boolean {
  const [served, setServed] = useState(false);
  useEffect(() => {
    const asking = new AbortController();
    fetch('/ca.crt', { method: 'HEAD', signal: asking.signal }).then(
      (res) => setServed(res.ok),
      () => undefined,
    );
    return () => asking.abort();
  }, []);
  return served;
}

/** The link just issued: the only time the page has it. */
function IssuedLink(props: { link: JoinLink; siteName: string; onClose(): void }) {
  const { t, time } = useI18n();
  const l = props.link;
  const text = l.url ?? l.link;
  const field = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState<'ok' | 'failed' | null>(null);
  const caServed = useProvinceCaServed();
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setCopied('ok');
    } catch {
      // No clipboard (a page that is not a secure context): select it for the operator to copy.
      field.current?.select();
      setCopied(document.execCommand('copy') ? 'ok' : 'failed');
    }
  };
  return (
    <div class="join-issued" data-testid="join-issued" data-link={l.id}>
      <p>
        <strong>
          {t('join.issued', {
            site: props.siteName,
            role: t(`join.short.${l.role}`),
            time: time(l.expiresAt),
          })}
        </strong>
      </p>
      <p class="muted small">{t('join.once')}</p>
      {l.url === null && <p class="join-warn">{t('join.noAddress')}</p>}
      <div class="join-copy">
        <input
          ref={field}
          type="text"
          readOnly
          value={text}
          aria-label={t('join.title')}
          data-testid="join-url"
          onFocus={(e) => (e.target as HTMLInputElement).select()}
        />
        <button type="button" class="btn" data-testid="join-copy" onClick={() => void copy()}>
          {t('join.copy')}
        </button>
      </div>
      {copied && (
        <p class={copied === 'ok' ? 'muted small' : 'form-error'} role="status">
          {t(copied === 'ok' ? 'join.copied' : 'join.copyFailed')}
        </p>
      )}
      <div class="join-qr">
        {l.url !== null && <QrCode text={l.url} label={t('join.qr')} testId="join-qr" />}
        <div class="join-ca">
          <p>{t('join.caHint')}</p>
          {caServed && (
            <p>
              <a href="/ca" target="_blank" rel="noopener">
                {t('join.caLink')}
              </a>
            </p>
          )}
        </div>
      </div>
      <button type="button" class="btn ghost" onClick={props.onClose}>
        {t('join.hide')}
      </button>
    </div>
  );
}

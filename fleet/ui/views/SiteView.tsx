// One site: its state, its boxes (or how to enrol the first one), the sites
// below it, actions for the whole subtree, and its alerts.
import { useMemo } from 'preact/hooks';
import { Actions } from '../components/Actions.js';
import { Breadcrumb } from '../components/Breadcrumb.js';
import { EnrolPanel } from '../components/EnrolPanel.js';
import { StatePill } from '../components/StatePill.js';
import { useI18n } from '../i18n/i18n.js';
import { deviceState, devicesUnder, groupAlerts, outageSites } from '../state/derive.js';
import { hrefDevice, hrefSite, useNow, useSnapshot } from '../state/hooks.js';
import { shortName, useFleetModel } from '../state/model.js';
import { AlertTable } from './AlertsView.js';

export function SiteView(props: { id: string }) {
  const i18n = useI18n();
  const { t } = i18n;
  const snap = useSnapshot();
  const m = useFleetModel();
  const now = useNow();
  const site = m.siteById.get(props.id);
  const boxes = m.bySite.get(props.id) ?? [];
  const children = useMemo(() => m.sites.filter((s) => s.parentId === props.id), [m.sites, props.id]);
  const underCount = useMemo(() => devicesUnder(props.id, m.sites, m.devices).length, [props.id, m.sites, m.devices]);
  const alerts = useMemo(
    () =>
      groupAlerts(
        snap.alerts.filter((a) => a.siteId === props.id || outageSites(a, m.siteOfDevice).includes(props.id)),
      ),
    [snap.alerts, props.id, m.siteOfDevice],
  );

  if (!site)
    return (
      <div class="page">
        <p class="empty">{t('site.notFound')}</p>
      </div>
    );
  const state = m.states.get(site.id) ?? 'nobox';
  const parent = site.parentId ? m.siteById.get(site.parentId) : undefined;

  return (
    <div class="page site-page" data-site-page={site.id}>
      <Breadcrumb
        items={[...(parent ? [{ href: hrefSite(parent.id), label: parent.name }] : []), { label: site.name }]}
      />
      <header class="page-head">
        <h1>{site.name}</h1>
        <StatePill state={state} large />
        <span class="kind muted">{m.kindLabel(site.kind, i18n.lang)}</span>
      </header>
      {(site.address || site.contact) && (
        <p class="muted">
          {site.address && (
            <>
              {t('site.address')}: {site.address}.{' '}
            </>
          )}
          {site.contact && (
            <>
              {t('site.contact')}: {site.contact}
            </>
          )}
        </p>
      )}

      {underCount > 0 && (
        <section class="card">
          <h2>
            {t('cmd.actions')}{' '}
            <span class="muted small">
              · {children.length > 0 ? t('grid.actions', { name: site.name }) : site.name}
            </span>
          </h2>
          <Actions target={{ kind: 'site', siteId: site.id, name: site.name }} />
        </section>
      )}

      <section class="card">
        <h2>{t('site.devices')}</h2>
        {boxes.length === 0 && state === 'revoked' && (
          <p class="muted" data-testid="site-revoked">
            {t('site.revoked')}
          </p>
        )}
        {boxes.length === 0 ? (
          <EnrolPanel site={site} revoked={state === 'revoked'} />
        ) : (
          <div class="box-list">
            {boxes.map((d) => (
              <a
                key={d.id}
                class={`box-card st-${deviceState(d, state === 'media-only')}`}
                href={hrefDevice(d.id)}
                data-device={d.id}
              >
                <StatePill state={deviceState(d, state === 'media-only')} />
                <strong class="mono" translate={false}>
                  {d.id}
                </strong>
                <span class="muted">
                  {t('device.lastSeen')}: {i18n.ago(d.lastSeenAt, now)}
                </span>
                {d.agentVersion && (
                  <span class="muted">
                    {t('device.agent')}: {d.agentVersion}
                  </span>
                )}
              </a>
            ))}
          </div>
        )}
      </section>

      {children.length > 0 && (
        <section class="card">
          <h2>
            {t('site.children')} <span class="muted small">· {t('grid.sites', { n: children.length })}</span>
          </h2>
          <div class="tiles">
            {children.map((c) => {
              const st = m.states.get(c.id) ?? 'nobox';
              return (
                <a key={c.id} href={hrefSite(c.id)} class={`tile st-${st}`} data-site={c.id} data-state={st}>
                  <span class="tile-name">{shortName(c.name)}</span>
                  <span class="tile-state">{t(`state.${st}`)}</span>
                </a>
              );
            })}
          </div>
        </section>
      )}

      <section class="card">
        <h2>{t('site.alerts')}</h2>
        {alerts.length === 0 ? (
          <p class="muted">{t('site.noAlerts')}</p>
        ) : (
          <AlertTable rows={alerts.slice(0, 50)} compact />
        )}
      </section>
    </div>
  );
}

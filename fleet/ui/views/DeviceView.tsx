// One box: state, peripherals, telemetry charts, state history, self-tests,
// commands (with results arriving live) and audit entries.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { openEventFeed } from '../api/events.js';
import type { CommandView, Device, OtaReport, SelfTestResult, TelemetrySample } from '../api/types.js';
import { Actions } from '../components/Actions.js';
import { Breadcrumb } from '../components/Breadcrumb.js';
import { Chart } from '../components/Chart.js';
import { StatePill } from '../components/StatePill.js';
import { useI18n, type I18n } from '../i18n/i18n.js';
import { auditAction, auditOutcome } from '../i18n/audit.js';
import { errorText } from '../i18n/errors.js';
import { useDeviceData, type Part } from '../state/device-data.js';
import { deviceState } from '../state/derive.js';
import { otaSteps, versionOnTrial } from '../state/progress.js';
import { hrefSite, useApp, useNow, useSnapshot } from '../state/hooks.js';
import { useFleetModel } from '../state/model.js';
import { CommandTable, History } from './DeviceParts.js';

const PERIPHERALS = ['camera', 'microphone', 'display', 'gpio'] as const;

export function DeviceView(props: { id: string }) {
  const i18n = useI18n();
  const { t, tx } = i18n;
  const { api } = useApp();
  const snap = useSnapshot();
  const m = useFleetModel();
  const now = useNow();
  // The box's own stream: telemetry samples extend the charts as they arrive,
  // a finished self-test reloads the page's data. Nothing polls.
  const [reload, setReload] = useState(0);
  const { store } = useApp();
  useEffect(() => {
    const feed = openEventFeed(
      api.token,
      {
        onEvent: (e) => {
          if (e.type === 'telemetry') store.addTelemetry(e.deviceId, e.sample);
          else if (e.type === 'self-test') setReload((n) => n + 1);
        },
        onOpen: () => {},
        onDown: () => {},
        onUnauthorized: () => {},
      },
      `/api/v1/devices/${encodeURIComponent(props.id)}/live`,
    );
    return () => feed.close();
  }, [api, store, props.id]);
  const data = useDeviceData(api, props.id, reload);
  const live = m.deviceById.get(props.id);
  const device: Device | undefined = data.device.state === 'ok' ? { ...data.device.value, ...live } : live;

  const samples = useMemo(
    () => mergeSamples(data.telemetry.state === 'ok' ? data.telemetry.value : [], snap.telemetry[props.id] ?? []),
    [data.telemetry, snap.telemetry[props.id]],
  );
  const commands = useMemo(
    () => mergeCommands(data.commands.state === 'ok' ? data.commands.value : [], snap.commands, props.id),
    [data.commands, snap.commands, props.id],
  );

  if (!device) {
    return (
      <div class="page">
        <p class="empty">{data.device.state === 'loading' ? t('common.loading') : t('device.notFound')}</p>
      </div>
    );
  }
  const site = m.siteById.get(device.siteId);
  const parent = site?.parentId ? m.siteById.get(site.parentId) : undefined;
  const st = deviceState(device);
  const tel = samples[samples.length - 1] ?? device.telemetry?.data;

  return (
    <div class="page device-page" data-device-page={device.id}>
      <Breadcrumb
        items={[
          ...(parent ? [{ href: hrefSite(parent.id), label: parent.name }] : []),
          ...(site ? [{ href: hrefSite(site.id), label: site.name }] : []),
          { label: device.id, code: true },
        ]}
      />
      <header class="page-head">
        <h1>{site?.name ?? device.siteId}</h1>
        <StatePill state={st} large />
        <span class="muted">
          {t('device.box')}{' '}
          <span class="mono" translate={false}>
            {device.id}
          </span>
        </span>
      </header>

      <section class="card">
        <h2>{t('cmd.actions')}</h2>
        <Actions target={{ kind: 'device', deviceId: device.id, name: site?.name ?? device.id }} />
      </section>

      <div class="cols">
        <section class="card">
          <h2>{t('device.info')}</h2>
          <dl class="facts">
            <dt>{t('device.lastSeen')}</dt>
            <dd title={i18n.time(device.lastSeenAt)}>{i18n.ago(device.lastSeenAt, now)}</dd>
            {device.agentVersion && (
              <>
                <dt>{t('device.agent')}</dt>
                <dd>
                  <span class="mono">{device.agentVersion}</span>
                  {versionOnTrial(device.agentVersion, data.ota.state === 'ok' ? data.ota.value : null) && (
                    <span class="muted" data-version-trial>
                      {' '}
                      · {t('device.agentTrial')}
                    </span>
                  )}
                </dd>
              </>
            )}
            {device.os && (
              <>
                <dt>{t('device.os')}</dt>
                <dd translate={false}>{device.os}</dd>
              </>
            )}
            {device.hardware && (
              <>
                <dt>{t('device.hardware')}</dt>
                <dd>
                  {device.hardware === 'simulated' ? (
                    t('device.simulated')
                  ) : (
                    <span translate={false}>{device.hardware}</span>
                  )}
                </dd>
              </>
            )}
            {tel && (
              <>
                <dt>{t('device.uptime')}</dt>
                <dd>{i18n.duration(tel.uptimeSec * 1000)}</dd>
              </>
            )}
            {tel && (
              <>
                <dt>{t('device.memory')}</dt>
                <dd>
                  <Usage used={tel.memory.usedBytes} total={tel.memory.totalBytes} i18n={i18n} />
                </dd>
              </>
            )}
            {tel && (
              <>
                <dt>{t('device.disk')}</dt>
                <dd>
                  <Usage used={tel.disk.usedBytes} total={tel.disk.totalBytes} i18n={i18n} />
                </dd>
              </>
            )}
            <dt>{t('device.ota')}</dt>
            <dd data-ota-state={data.ota.state === 'ok' ? data.ota.value.state : 'none'}>
              {data.ota.state === 'ok' ? (
                <OtaLine r={data.ota.value} i18n={i18n} />
              ) : (
                <span class="muted">{t('device.otaNone')}</span>
              )}
            </dd>
            <dt>{t('device.osUpdate')}</dt>
            <dd data-os-state={data.os.state === 'ok' ? data.os.value.state : 'none'}>
              {data.os.state === 'ok' ? (
                <>
                  {t('device.osLine', {
                    snapshot: data.os.value.snapshot,
                    state: tx('osState', data.os.value.state),
                    n: data.os.value.changed?.length ?? 0,
                  })}
                  {data.os.value.error && <p class="form-error">{data.os.value.error.message}</p>}
                </>
              ) : (
                <span class="muted">{t('device.osNone')}</span>
              )}
            </dd>
          </dl>
        </section>
        <section class="card">
          <h2>{t('device.peripherals')}</h2>
          <ul class="periph">
            {PERIPHERALS.map((p) => {
              const s = device.peripherals?.[p] ?? 'unknown';
              return (
                <li key={p} class={`periph-${s}`} data-peripheral={p} data-pstate={s}>
                  <span class="dot" />
                  <span>{t(`periph.${p}`)}</span>
                  <strong>{t(`periph.${s}`)}</strong>
                </li>
              );
            })}
          </ul>
        </section>
      </div>

      <section class="card">
        <h2>{t('device.telemetry')}</h2>
        {samples.length === 0 ? (
          <p class="muted">{t('device.noTelemetry')}</p>
        ) : (
          <Charts samples={samples} i18n={i18n} />
        )}
      </section>

      <div class="cols">
        <section class="card">
          <h2>{t('device.history')}</h2>
          <History deviceId={device.id} />
        </section>
        <section class="card">
          <h2>{t('device.selfTests')}</h2>
          <PartView
            part={data.selfTests}
            empty={t('device.noSelfTests')}
            render={(v) => <SelfTests items={v} i18n={i18n} />}
          />
        </section>
      </div>

      <section class="card">
        <h2>{t('device.commands')}</h2>
        {data.commands.state === 'unavailable' && commands.length === 0 ? (
          <p class="muted">{t('device.unavailable')}</p>
        ) : commands.length === 0 ? (
          <p class="muted">{t('device.noCommands')}</p>
        ) : (
          <CommandTable commands={commands} />
        )}
      </section>

      <section class="card">
        <h2>{t('device.audit')}</h2>
        <PartView
          part={data.audit}
          empty={t('device.noAudit')}
          render={(v) => (
            <table class="table">
              <tbody>
                {v.map((e, i) => (
                  <tr key={e.id ?? i} data-action={e.action}>
                    <td>{i18n.time(e.at)}</td>
                    <td>
                      {e.operatorName ??
                        (e.operatorId === null
                          ? t('device.byBox')
                          : (snap.names.get(e.operatorId) ?? t('device.someone')))}
                    </td>
                    <td>{auditAction(i18n, e)}</td>
                    <td>{auditOutcome(i18n, e)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        />
      </section>
    </div>
  );
}

/**
 * The last update report as the steps the box goes through (download, check,
 * install, switch, health check, done), where it is or where it stopped; a
 * refusal for missing packages names them, since only someone at the box (or
 * a new image) can fix it.
 */
function OtaLine(props: { r: OtaReport; i18n: I18n }) {
  const { t, tx, lang } = props.i18n;
  const { r } = props;
  const unmet = r.error?.code === 'APPL_ERR_OTA_REQUIREMENTS' ? (r.error.unmet ?? []) : null;
  const steps = otaSteps(r);
  return (
    <>
      <span>
        {tx('otaState', r.state)}
        {r.target ? ` · ${t('ota.release', { v: r.target })}` : ''}
      </span>
      {steps && (
        <ol class="steps" data-testid="ota-steps">
          {steps.map((s) => (
            <li key={s.step} class={s.state} data-step={s.step} data-step-state={s.state}>
              {tx('otaState', s.step)}
            </li>
          ))}
        </ol>
      )}
      {unmet && (
        <p class="form-error" data-ota-unmet>
          {t('device.otaRequirements', {
            v: r.target ?? '?',
            missing:
              unmet.map((u) => (u.have === null ? u.name : `${u.name} ${u.have} < ${u.need ?? '?'}`)).join(', ') ||
              errorText(lang, r.error),
          })}
          <br />
          <span class="muted">{t('device.otaRequirementsHint')}</span>
        </p>
      )}
      {r.error && !unmet && <p class="form-error">{errorText(lang, r.error)}</p>}
    </>
  );
}

function PartView<T extends unknown[]>(props: { part: Part<T>; empty: string; render(v: T): preact.JSX.Element }) {
  const { t, lang } = useI18n();
  const p = props.part;
  if (p.state === 'loading') return <p class="muted">{t('common.loading')}</p>;
  if (p.state === 'unavailable') return <p class="muted">{t('device.unavailable')}</p>;
  if (p.state === 'forbidden') return <p class="muted">{t('device.forbidden')}</p>;
  if (p.state === 'error') return <p class="form-error">{t('common.error', { msg: errorText(lang, p.error) })}</p>;
  return p.value.length === 0 ? <p class="muted">{props.empty}</p> : props.render(p.value);
}

function Usage(props: { used: number; total: number; i18n: I18n }) {
  const pct = props.total > 0 ? (100 * props.used) / props.total : 0;
  const gb = (b: number) => props.i18n.num(b / 2 ** 30, 1);
  return (
    <span class="usage">
      <span class="usage-bar">
        <span class={pct > 90 ? 'hot' : ''} style={{ width: `${pct}%` }} />
      </span>
      {gb(props.used)} / {gb(props.total)} GiB
    </span>
  );
}

function Charts(props: { samples: TelemetrySample[]; i18n: I18n }) {
  const { t } = props.i18n;
  const s = props.samples;
  const times = useMemo(() => s.map((x) => Date.parse(x.at) / 1000), [s]);
  const cpu = useMemo(() => [{ label: 'CPU', color: '#2563eb', values: s.map((x) => x.cpu.loadPercent) }], [s]);
  const temp = useMemo(
    () => [{ label: '°C', color: '#dc2626', values: s.map((x) => x.cpu.temperatureC ?? null) }],
    [s],
  );
  const net = useMemo(
    () => [
      { label: t('chart.rx'), color: '#059669', values: s.map((x) => x.network.rxBytesPerSec / 1024) },
      { label: t('chart.tx'), color: '#7c3aed', values: s.map((x) => x.network.txBytesPerSec / 1024) },
    ],
    [s, t],
  );
  const hasTemp = s.some((x) => x.cpu.temperatureC !== undefined);
  return (
    <div class="charts">
      <Chart title={t('chart.cpu')} times={times} series={cpu} testid="chart-cpu" />
      {hasTemp && <Chart title={t('chart.temp')} times={times} series={temp} testid="chart-temp" />}
      <Chart title={t('chart.net')} times={times} series={net} testid="chart-net" />
    </div>
  );
}

function SelfTests(props: { items: SelfTestResult[]; i18n: I18n }) {
  const { t } = props.i18n;
  return (
    <ul class="selftests">
      {props.items.slice(0, 5).map((r, i) => (
        <li key={i} class={r.ok ? 'ok' : 'bad'}>
          <strong>
            {r.ok ? '✓' : '✗'} {props.i18n.time(r.finishedAt)}
          </strong>
          <span class="chips">
            {PERIPHERALS.map((p) => {
              const c = r[p];
              const s = c?.state ?? r.peripherals?.[p] ?? 'unknown';
              return (
                <span key={p} class={`chip periph-${s}`} title={c?.reason?.message}>
                  <span class="dot" />
                  {t(`periph.${p}`)}: {t(`periph.${s}`)}
                </span>
              );
            })}
          </span>
        </li>
      ))}
    </ul>
  );
}

export function mergeSamples(fetched: readonly TelemetrySample[], live: readonly TelemetrySample[]): TelemetrySample[] {
  const bySeq = new Map<number, TelemetrySample>();
  for (const x of [...fetched, ...live]) bySeq.set(x.seq, x);
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

function mergeCommands(fetched: readonly CommandView[], live: readonly CommandView[], deviceId: string): CommandView[] {
  const byId = new Map<string, CommandView>();
  for (const c of fetched) byId.set(c.id, c);
  for (const c of live) if (c.deviceId === deviceId) byId.set(c.id, { ...byId.get(c.id), ...c });
  return [...byId.values()].sort((a, b) => Date.parse(b.issuedAt) - Date.parse(a.issuedAt));
}

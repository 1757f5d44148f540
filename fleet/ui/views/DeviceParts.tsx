// Pieces of the device page: the state history and the command table.
import { useMemo } from 'preact/hooks';
import type { CommandView } from '../api/types.js';
import { alertLabel } from '../components/alertText.js';
import { useI18n } from '../i18n/i18n.js';
import { useNow, useSnapshot } from '../state/hooks.js';
import { useFleetModel } from '../state/model.js';
import { rebootProgress, type RebootStage } from '../state/progress.js';
import { errorText } from '../i18n/errors.js';

interface HistoryEntry {
  at: string;
  kind: 'down' | 'up' | 'other';
  label: string;
}

/**
 * What happened to the box, newest first, from its alerts: an offline alert's
 * opening is "went offline", its resolution "came back".
 */
export function History(props: { deviceId: string }) {
  const i18n = useI18n();
  const { t } = i18n;
  const snap = useSnapshot();
  const entries = useMemo(() => {
    const out: HistoryEntry[] = [];
    for (const a of snap.alerts) {
      if (a.deviceId !== props.deviceId) continue;
      if (a.type === 'device-offline') {
        out.push({ at: a.openedAt, kind: 'down', label: t('device.wentOffline') });
        if (a.resolvedAt) out.push({ at: a.resolvedAt, kind: 'up', label: t('device.cameBack') });
      } else {
        out.push({ at: a.openedAt, kind: 'other', label: alertLabel(i18n, a) });
        if (a.resolvedAt)
          out.push({ at: a.resolvedAt, kind: 'up', label: `${alertLabel(i18n, a)} · ${t('alerts.resolved')}` });
      }
    }
    return out.sort((a, b) => Date.parse(b.at) - Date.parse(a.at)).slice(0, 30);
  }, [snap.alerts, props.deviceId, i18n]);
  if (entries.length === 0) return <p class="muted">{t('device.noHistory')}</p>;
  return (
    <ol class="timeline" data-testid="history">
      {entries.map((e, i) => (
        <li key={i} class={`tl-${e.kind}`}>
          <span class="tl-time">{i18n.time(e.at)}</span>
          <span>{e.label}</span>
        </li>
      ))}
    </ol>
  );
}

const FINAL_OK = new Set(['succeeded']);
const FINAL_BAD = new Set(['failed', 'rejected', 'expired']);
const REBOOT_BAD: ReadonlySet<RebootStage> = new Set(['failed', 'no-return', 'not-restarted']);

export function CommandTable(props: { commands: CommandView[] }) {
  const i18n = useI18n();
  const snap = useSnapshot();
  const m = useFleetModel();
  const now = useNow(5_000);
  const { t, tx, lang } = i18n;
  return (
    <table class="table commands" data-testid="commands">
      <thead>
        <tr>
          <th>{t('cmd.col.when')}</th>
          <th>{t('cmd.col.type')}</th>
          <th>{t('cmd.col.by')}</th>
          <th>{t('cmd.col.status')}</th>
        </tr>
      </thead>
      <tbody>
        {props.commands.map((c) => {
          const err = c.result?.error;
          // A reboot is done when the box is back with a fresh uptime, not when it accepted.
          const reboot = c.type === 'reboot' ? rebootProgress(c, m.deviceById.get(c.deviceId), now) : null;
          const ok = reboot ? reboot.stage === 'back' : FINAL_OK.has(c.status);
          const bad = reboot ? REBOOT_BAD.has(reboot.stage) : FINAL_BAD.has(c.status);
          const cls = ok ? 'good' : bad ? 'bad' : 'wait';
          return (
            <tr key={c.id} data-command={c.id} data-type={c.type} data-status={c.status} data-stage={reboot?.stage}>
              <td>{i18n.time(c.issuedAt)}</td>
              <td>{tx('cmd', c.type)}</td>
              <td class="muted">{c.issuedBy ? (snap.names.get(c.issuedBy) ?? t('device.someone')) : '—'}</td>
              <td>
                <span class={`status ${cls}`}>
                  {reboot && c.status === 'succeeded'
                    ? t(`reboot.line.${reboot.stage}`, { uptime: i18n.duration((reboot.uptimeSec ?? 0) * 1000) })
                    : tx('cmdStatus', c.status)}
                </span>
                {err && <span class="sub">{errorText(lang, err)}</span>}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

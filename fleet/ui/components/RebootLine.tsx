// Where a reboot really is: accepted, the box dropping off, back with a fresh
// uptime. "Done" only at the end; a box that never came back says so.
import { useI18n } from '../i18n/i18n.js';
import { useNow, useSnapshot } from '../state/hooks.js';
import { useFleetModel } from '../state/model.js';
import { rebootProgress, type RebootStage } from '../state/progress.js';

const STEPS = ['sending', 'restarting', 'offline', 'back'] as const;
/** How far along each stage is (a step index; past the last = all done), and whether it ended badly. */
const POSITION: Record<RebootStage, [number, boolean]> = {
  sending: [0, false],
  restarting: [1, false],
  offline: [2, false],
  reconnected: [3, false],
  back: [4, false],
  failed: [0, true],
  'no-return': [1, true],
  'not-restarted': [3, true],
};

export function RebootLine(props: { commandId: string; deviceId: string }) {
  const i18n = useI18n();
  const { t } = i18n;
  const snap = useSnapshot();
  const m = useFleetModel();
  const now = useNow(5_000);
  const c = snap.commands.find((x) => x.id === props.commandId);
  const p = c ? rebootProgress(c, m.deviceById.get(props.deviceId), now) : { stage: 'sending' as const };
  const [pos, bad] = POSITION[p.stage];
  return (
    <div class="reboot-line" data-testid="reboot-stage" data-stage={p.stage} role="status">
      <ol class="steps">
        {STEPS.map((s, i) => (
          <li key={s} class={i < pos ? 'done' : i === pos ? (bad ? 'failed' : 'now') : 'todo'}>
            {t(`reboot.${s}`)}
          </li>
        ))}
      </ol>
      <p class={bad ? 'form-error' : 'muted'}>
        {p.stage === 'back'
          ? t('reboot.line.back', { uptime: i18n.duration((p.uptimeSec ?? 0) * 1000) })
          : t(`reboot.line.${p.stage}`)}
      </p>
    </div>
  );
}

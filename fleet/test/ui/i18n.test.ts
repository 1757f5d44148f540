// The dashboard's words cover what the fleet and the boxes can say: every
// error code, command, update step, and audit entry has its own text in both
// languages, never the machine's English. Runs in Node (no DOM).
import t from 'tap';
import { COMMAND_TYPES, ERRORS, OTA_STATES } from '@diemcau/shared';
import { ERROR_TEXT, errorText } from '../../ui/i18n/errors.js';
import { auditAction, auditOutcome } from '../../ui/i18n/audit.js';
import { makeI18n } from '../../ui/i18n/core.js';
import { vi } from '../../ui/i18n/vi.js';
import { en } from '../../ui/i18n/en.js';
import type { AuditEntry } from '../../ui/api/types.js';

const langs = { vi: makeI18n('vi', () => {}), en: makeI18n('en', () => {}) };

t.test('every error code of the registry has words in both languages', async (t) => {
  const missing = Object.keys(ERRORS).filter((code) => !ERROR_TEXT[code]?.vi || !ERROR_TEXT[code]?.en);
  t.same(missing, []);
  for (const code of Object.keys(ERRORS)) {
    t.not(
      errorText('vi', { code, status: 400 }),
      ERRORS[code as keyof typeof ERRORS].message,
      `${code} is not the server's text`,
    );
  }
});

t.test('an answer without a known code is worded by its status, and a network failure says so', async (t) => {
  t.equal(errorText('vi', { status: 403 }), ERROR_TEXT.FLEET_ERR_FORBIDDEN!.vi);
  t.equal(errorText('vi', { status: 502 }), ERROR_TEXT.FLEET_ERR_INTERNAL!.vi);
  t.match(errorText('vi', new TypeError('Failed to fetch')), /Không kết nối được máy chủ/);
  t.match(errorText('en', { code: 'FLEET_ERR_SITE_IN_MEETING', status: 409 }), /in a meeting/);
});

t.test('every command and update step has a label in both languages', async (t) => {
  const keys = [...COMMAND_TYPES.map((c) => `cmd.${c}`), ...OTA_STATES.map((s) => `otaState.${s}`)];
  t.same(
    keys.filter((k) => !(k in vi) || !(k in en)),
    [],
  );
});

t.test('audit entries read as sentences, not machine names', async (t) => {
  const entry = (action: string, outcome: string | null): AuditEntry => ({
    id: 1,
    at: '2026-12-03T01:00:00.000Z',
    operatorId: 'op-1',
    operatorName: null,
    action,
    target: 'device:d1',
    outcome,
    details: null,
  });
  const cases: [AuditEntry, string, string][] = [
    [entry('command.reboot', 'queued'), 'Lệnh «Khởi động lại hộp»', 'đã xếp hàng chờ gửi'],
    [entry('command.reboot.result', 'succeeded'), 'Kết quả lệnh «Khởi động lại hộp»', 'Thành công'],
    [entry('command.restart-media', 'refused'), 'Lệnh «Khởi động lại phần truyền hình»', 'bị từ chối'],
    [entry('device.enrol', 'ok'), 'Hộp đăng ký vào hệ thống', 'thành công'],
    [entry('DELETE /api/v1/devices/:id', '204'), 'Thu hồi hộp', 'thành công'],
    [entry('POST /api/v1/something/new', '403'), 'Thao tác khác (tạo mới)', 'bị từ chối (mã 403)'],
    [entry('http.refused', '12 refused'), 'Yêu cầu bị từ chối', '12 lần bị từ chối'],
  ];
  for (const [e, action, outcome] of cases) {
    t.equal(auditAction(langs.vi, e), action, e.action);
    t.equal(auditOutcome(langs.vi, e), outcome, `${e.action} ${e.outcome}`);
    t.notMatch(auditAction(langs.en, e), /[\u00C0-\u1EF9]/u, `${e.action} in English has no Vietnamese`);
  }
});

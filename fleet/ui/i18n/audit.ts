// Audit entries in words: the fleet stores machine names ("command.reboot"
// with outcome "queued", "POST /api/v1/meetings" with "201", "device.enrol"
// "ok"); the device page says what happened, in the page's language.
import type { AuditEntry } from '../api/types.js';
import type { I18n, Lang } from './core.js';

type Entry = Record<Lang, string>;

/** Routes an operator's change goes through, by their pattern (fleet/src/api, fleet/src/*\/routes.ts). */
const ROUTES: Record<string, Entry> = {
  'POST /api/v1/devices/:id/commands': { vi: 'Gửi lệnh tới hộp', en: 'Sent a command to the box' },
  'POST /api/v1/sites/:id/commands': { vi: 'Gửi lệnh tới cả đơn vị', en: 'Sent a command to a whole unit' },
  'DELETE /api/v1/devices/:id': { vi: 'Thu hồi hộp', en: 'Decommissioned the box' },
  'POST /api/v1/devices/:id/help/resolve': {
    vi: 'Đã gọi lại điểm cầu xin hỗ trợ',
    en: 'Called back a site that asked for help',
  },
  'POST /api/v1/alerts/:id/ack': { vi: 'Xác nhận cảnh báo', en: 'Acknowledged an alert' },
  'POST /api/v1/sites/:siteId/enrollment-tokens': { vi: 'Tạo mã đăng ký hộp', en: 'Created an enrolment code' },
  'POST /api/v1/sites/import': { vi: 'Nhập danh sách điểm cầu', en: 'Imported sites' },
  'POST /api/v1/hierarchy/relay-groups': { vi: 'Sửa nhóm chuyển tiếp', en: 'Changed relay groups' },
  'POST /api/v1/preregistrations': { vi: 'Đăng ký trước số sê-ri hộp', en: 'Pre-registered a box serial' },
  'DELETE /api/v1/preregistrations/:serial': { vi: 'Bỏ đăng ký trước số sê-ri', en: 'Removed a pre-registered serial' },
  'POST /api/v1/operators': { vi: 'Tạo tài khoản cán bộ', en: 'Created an operator' },
  'DELETE /api/v1/operators/:id': { vi: 'Thu hồi tài khoản cán bộ', en: "Revoked an operator's access" },
  'POST /api/v1/meetings': { vi: 'Lên lịch cuộc họp', en: 'Scheduled a meeting' },
  'POST /api/v1/meetings/:id/end': { vi: 'Kết thúc cuộc họp', en: 'Ended a meeting' },
  'POST /api/v1/meetings/:id/join-links': { vi: 'Cấp đường dẫn tham gia họp', en: 'Issued a join link' },
  'DELETE /api/v1/meetings/:id/join-links/:linkId': { vi: 'Thu hồi đường dẫn tham gia họp', en: 'Revoked a join link' },
  'POST /api/v1/meetings/:id/roll-call/picture': {
    vi: 'Xem trực tiếp hình điểm cầu đang điểm danh',
    en: 'Watched the called room live during a roll call',
  },
  'POST /api/v1/meetings/:id/readiness': {
    vi: 'Kiểm tra lại mức sẵn sàng của cuộc họp',
    en: "Checked a meeting's readiness again",
  },
  'POST /api/v1/releases': { vi: 'Tải lên bản phần mềm', en: 'Uploaded a release' },
  'POST /api/v1/rollouts': { vi: 'Bắt đầu đợt cập nhật', en: 'Started a rollout' },
  'POST /api/v1/rollouts/:id/pause': { vi: 'Tạm dừng đợt cập nhật', en: 'Paused a rollout' },
  'POST /api/v1/rollouts/:id/resume': { vi: 'Tiếp tục đợt cập nhật', en: 'Resumed a rollout' },
  'POST /api/v1/rollouts/:id/abort': { vi: 'Hủy đợt cập nhật', en: 'Aborted a rollout' },
};

const METHOD: Record<string, Entry> = {
  POST: { vi: 'Thao tác khác (tạo mới)', en: 'Other change (create)' },
  PUT: { vi: 'Thao tác khác (thay thế)', en: 'Other change (replace)' },
  PATCH: { vi: 'Thao tác khác (sửa)', en: 'Other change (edit)' },
  DELETE: { vi: 'Thao tác khác (xóa)', en: 'Other change (delete)' },
};

const FIXED: Record<string, Entry> = {
  'device.enrol': { vi: 'Hộp đăng ký vào hệ thống', en: 'The box enrolled' },
  'device.reenrol': { vi: 'Hộp đăng ký lại', en: 'The box enrolled again' },
  'http.refused': { vi: 'Yêu cầu bị từ chối', en: 'Requests refused' },
};

const OUTCOME: Record<string, Entry> = {
  ok: { vi: 'thành công', en: 'done' },
  queued: { vi: 'đã xếp hàng chờ gửi', en: 'queued' },
  forced: { vi: 'gửi bắt buộc (đang họp, có lý do)', en: 'forced (in a meeting, with a reason)' },
  refused: { vi: 'bị từ chối', en: 'refused' },
};

/** What the entry says happened. */
export function auditAction(i18n: I18n, e: AuditEntry): string {
  const { lang, tx } = i18n;
  const cmd = /^command\.([a-z-]+)(\.result)?$/.exec(e.action);
  if (cmd) {
    const name = tx('cmd', cmd[1]!);
    return cmd[2]
      ? lang === 'vi'
        ? `Kết quả lệnh «${name}»`
        : `Result of “${name}”`
      : lang === 'vi'
        ? `Lệnh «${name}»`
        : `Command “${name}”`;
  }
  const fixed = FIXED[e.action];
  if (fixed) return fixed[lang];
  const route = ROUTES[e.action];
  if (route) return route[lang];
  const method = METHOD[e.action.split(' ')[0] ?? ''];
  return method ? method[lang] : lang === 'vi' ? 'Thao tác khác' : 'Other action';
}

/** How it ended: a command's status, an HTTP status, or the fleet's own words. */
export function auditOutcome(i18n: I18n, e: AuditEntry): string {
  const { lang, tx } = i18n;
  const o = e.outcome ?? '';
  if (!o) return '';
  if (OUTCOME[o]) return OUTCOME[o][lang];
  if (/^command\./.test(e.action)) return tx('cmdStatus', o, o);
  if (/^\d{3}$/.test(o)) {
    const n = Number(o);
    if (n < 300) return OUTCOME.ok![lang];
    return n < 500
      ? lang === 'vi'
        ? `bị từ chối (mã ${o})`
        : `refused (code ${o})`
      : lang === 'vi'
        ? `lỗi máy chủ (mã ${o})`
        : `server error (code ${o})`;
  }
  const refused = /^(\d+) refused$/.exec(o);
  if (refused) return lang === 'vi' ? `${refused[1]} lần bị từ chối` : `${refused[1]} refused`;
  return o;
}

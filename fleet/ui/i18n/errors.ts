// The fleet's and the boxes' error codes (shared/src/errors.ts) in words an
// operator reads: the page never shows the server's English text. A test
// (fleet/test/ui/i18n.test.ts) fails when a code has no entry here.
import type { Lang } from './core.js';

type Entry = Record<Lang, string>;

export const ERROR_TEXT: Record<string, Entry> = {
  PROTO_ERR_TOO_LARGE: { vi: 'Dữ liệu gửi lên quá lớn.', en: 'The data sent is too large.' },
  PROTO_ERR_NOT_JSON: { vi: 'Dữ liệu gửi lên không đúng định dạng.', en: 'The data sent is not in the right format.' },
  PROTO_ERR_SCHEMA: { vi: 'Dữ liệu gửi lên thiếu hoặc sai trường.', en: 'The data sent has missing or wrong fields.' },
  PROTO_ERR_VERSION: {
    vi: 'Phiên bản giao thức không được hỗ trợ: cần cập nhật phần mềm.',
    en: 'Unsupported protocol version: the software needs updating.',
  },
  PROTO_ERR_UNKNOWN_TOPIC: {
    vi: 'Kênh tin nhắn không thuộc giao thức.',
    en: 'The message channel is not part of the protocol.',
  },
  FLEET_ERR_UNAUTHORIZED: {
    vi: 'Phiên đăng nhập không còn hiệu lực: mã truy cập sai hoặc đã bị thu hồi.',
    en: 'Your session is no longer valid: the access code is wrong or was revoked.',
  },
  FLEET_ERR_FORBIDDEN: {
    vi: 'Tài khoản của bạn không được phép làm việc này.',
    en: 'Your account is not allowed to do this.',
  },
  FLEET_ERR_NOT_FOUND: {
    vi: 'Không tìm thấy mục này, hoặc bạn không có quyền xem.',
    en: 'Not found, or you may not see it.',
  },
  FLEET_ERR_CONFLICT: {
    vi: 'Không làm được lúc này: trạng thái đã thay đổi. Tải lại trang rồi thử lại.',
    en: 'Not possible now: the state has changed. Reload and try again.',
  },
  FLEET_ERR_BAD_REQUEST: { vi: 'Yêu cầu không hợp lệ.', en: 'The request is not valid.' },
  FLEET_ERR_TOKEN_INVALID: {
    vi: 'Mã đăng ký không đúng, đã dùng hết hoặc đã hết hạn.',
    en: 'The enrolment code is wrong, used up or expired.',
  },
  FLEET_ERR_SERIAL_IN_USE: {
    vi: 'Số sê-ri phần cứng này đã thuộc về hộp hoặc điểm cầu khác.',
    en: 'This hardware serial belongs to another box or site.',
  },
  FLEET_ERR_UNKNOWN_DEVICE: {
    vi: 'Không có hộp thiết bị này (có thể đã bị thu hồi).',
    en: 'No such box (it may have been decommissioned).',
  },
  FLEET_ERR_UNKNOWN_SITE: { vi: 'Không có điểm cầu này.', en: 'No such site.' },
  FLEET_ERR_RATE_LIMITED: {
    vi: 'Quá nhiều yêu cầu trong thời gian ngắn. Chờ một lát rồi thử lại.',
    en: 'Too many requests in a short time. Wait a moment and try again.',
  },
  FLEET_ERR_CONFIG: { vi: 'Cấu hình máy chủ không hợp lệ.', en: 'The server is misconfigured.' },
  FLEET_ERR_INTERNAL: {
    vi: 'Máy chủ gặp lỗi. Thử lại sau ít phút; nếu vẫn lỗi, báo trung tâm CNTT.',
    en: 'The server hit an error. Try again in a few minutes; if it persists, call the IT centre.',
  },
  FLEET_ERR_RELEASE_INVALID: {
    vi: 'Bản phần mềm không có chữ ký tin cậy hoặc không khớp bản kê.',
    en: 'The release is not signed by a trusted key or does not match its manifest.',
  },
  FLEET_ERR_ROLLOUT_STATE: {
    vi: 'Đợt cập nhật không làm được việc này ở trạng thái hiện tại.',
    en: 'The rollout cannot do that in its current state.',
  },
  FLEET_ERR_RELEASE_DOWNGRADE: {
    vi: 'Bản phần mềm cũ hơn bản đã nhận và không phải bản quay lui có chữ ký.',
    en: 'The release is older than one already accepted and is not a signed rollback.',
  },
  FLEET_ERR_SITE_IN_MEETING: {
    vi: 'Điểm cầu đang họp: lệnh bị từ chối. Muốn vẫn thực hiện, đánh dấu ô dưới đây và ghi lý do.',
    en: 'The site is in a meeting: the command was refused. To go ahead anyway, tick the box below and give a reason.',
  },
  FLEET_ERR_NO_TARGETS: { vi: 'Không có hộp nào để gửi lệnh.', en: 'There is no box to send the command to.' },
  FLEET_ERR_MEETING_SITE_BUSY: {
    vi: 'Một điểm cầu đã có cuộc họp khác vào giờ đó.',
    en: 'A site already has another meeting at that time.',
  },
  FLEET_ERR_MEETING_CAPACITY: {
    vi: 'Máy chủ truyền hình không còn đủ năng lực cho cuộc họp vào giờ đó.',
    en: 'A media server has no capacity left for the meeting at that time.',
  },
  FLEET_ERR_BACKUP: {
    vi: 'Không sao lưu hoặc khôi phục được dữ liệu.',
    en: 'The backup could not be made or restored.',
  },
  FLEET_ERR_MEETING_ENDED: { vi: 'Cuộc họp đã kết thúc.', en: 'The meeting has ended.' },
  FLEET_ERR_NOT_LEADER: {
    vi: 'Máy chủ này không còn điều phối hệ thống; việc được để lại cho máy chủ điều phối.',
    en: 'This fleet node no longer leads; the work is left to the leader.',
  },
  PROV_ERR_CONFIG: {
    vi: 'Cấu hình của công cụ cài đặt không hợp lệ.',
    en: 'The provisioning tool is not configured correctly.',
  },
  APPL_ERR_CONFIG: { vi: 'Cấu hình của hộp không hợp lệ.', en: "The box's configuration is not valid." },
  APPL_ERR_ENROLL: { vi: 'Hộp không đăng ký được.', en: 'The box could not enrol.' },
  APPL_ERR_NO_BOOTSTRAP: {
    vi: 'Hộp chưa có thông tin khởi tạo (địa chỉ máy chủ và mã đăng ký).',
    en: 'The box has no bootstrap (server address and enrolment code).',
  },
  APPL_ERR_QUEUE: { vi: 'Hộp không lưu được số liệu chờ gửi.', en: 'The box could not queue its figures.' },
  APPL_ERR_COMMAND: { vi: 'Hộp không thực hiện được lệnh.', en: 'The box could not carry out the command.' },
  APPL_ERR_COMMAND_EXPIRED: {
    vi: 'Lệnh tới hộp sau khi đã hết hạn nên không được thực hiện.',
    en: 'The command reached the box after it expired and was not run.',
  },
  APPL_ERR_COMMAND_INTERRUPTED: {
    vi: 'Phần mềm trên hộp dừng giữa chừng khi đang chạy lệnh; lệnh không chạy lại.',
    en: "The box's software stopped while running the command; it is not run again.",
  },
  APPL_ERR_COMMAND_PARAMS: { vi: 'Tham số của lệnh không hợp lệ.', en: 'The command parameters are not valid.' },
  APPL_ERR_HARDWARE: { vi: 'Hộp không truy cập được thiết bị phần cứng.', en: 'The box could not reach its hardware.' },
  APPL_ERR_MEDIA: { vi: 'Lỗi phần truyền hình trên hộp.', en: "The box's media service failed." },
  APPL_ERR_OTA: { vi: 'Cập nhật thất bại.', en: 'The update failed.' },
  APPL_ERR_MEDIA_UNAUTHORIZED: {
    vi: 'Thiếu hoặc sai mã truy cập phần truyền hình.',
    en: 'Missing or wrong media access code.',
  },
  APPL_ERR_MEDIA_NOT_FOUND: {
    vi: 'Không có cuộc họp hoặc luồng hình này trên hộp.',
    en: 'No such meeting or stream on this box.',
  },
  APPL_ERR_MEDIA_CONFLICT: {
    vi: 'Yêu cầu truyền hình không khớp trạng thái của hộp.',
    en: "The media request conflicts with the box's state.",
  },
  APPL_ERR_MEDIA_FORBIDDEN: {
    vi: 'Kế hoạch cuộc họp hoặc cài đặt của hộp không cho phép việc này.',
    en: "The meeting plan or the box's settings do not allow this.",
  },
  APPL_ERR_MEDIA_LIMIT: { vi: 'Hộp đã đạt giới hạn truyền hình.', en: 'The box has reached a media limit.' },
  APPL_ERR_OTA_SIGNATURE: {
    vi: 'Chữ ký của bản phần mềm không được tin cậy.',
    en: "The release's signature is not trusted.",
  },
  APPL_ERR_OTA_HASH: { vi: 'Tệp tải về không khớp bản kê.', en: 'The download does not match its manifest.' },
  APPL_ERR_OTA_DISK: {
    vi: 'Ổ đĩa của hộp không đủ chỗ để cập nhật.',
    en: 'Not enough free disk on the box for the update.',
  },
  APPL_ERR_OTA_DOWNLOAD: { vi: 'Tải bản cập nhật thất bại.', en: 'Downloading the update failed.' },
  APPL_ERR_OTA_INSTALL: { vi: 'Cài bản cập nhật thất bại.', en: 'Installing the update failed.' },
  APPL_ERR_OTA_HEALTH: {
    vi: 'Bản mới không qua được bước kiểm tra sau khi chuyển; hộp đã quay về bản cũ.',
    en: 'The new version failed its check after switching; the box went back to the old one.',
  },
  APPL_ERR_OTA_INCOMPATIBLE: {
    vi: 'Bản phần mềm cần phần mềm hộp mới hơn.',
    en: 'The release needs newer box software.',
  },
  APPL_ERR_OTA_DOWNGRADE: {
    vi: 'Bản phần mềm cũ hơn bản đang chạy và không phải bản quay lui có chữ ký.',
    en: 'The release is older than the running one and is not a signed rollback.',
  },
  APPL_ERR_OTA_REQUIREMENTS: {
    vi: 'Hộp thiếu gói phần mềm mà bản cập nhật cần.',
    en: 'The box lacks packages the release needs.',
  },
  APPL_ERR_OS_APT: {
    vi: 'apt không cài được bản chụp hệ điều hành từ kho của tỉnh.',
    en: "apt could not install the operating system snapshot from the province's mirror.",
  },
  APPL_ERR_OS_HEALTH: {
    vi: 'Sau khi cập nhật hệ điều hành, hộp không còn hoạt động tốt như trước.',
    en: 'After the operating system update the box is less healthy than before.',
  },
  APPL_ERR_MOVE_REFUSED: {
    vi: 'Hộp từ chối chuyển sang hệ thống khác: lệnh chuyển không có chữ ký hợp lệ của hệ thống cũ, đã hết hạn, dành cho hộp khác hoặc đã dùng rồi.',
    en: 'The box refused to move to another fleet: the move is not signed by its fleet, has expired, names another box or was used before.',
  },
  APPL_ERR_BOOTSTRAP_PIN: {
    vi: 'Thông tin khởi tạo trỏ tới máy chủ khác máy chủ đã ghi trong ảnh đĩa.',
    en: 'The bootstrap names a server other than the one written in the image.',
  },
};

/** By HTTP status, for an answer without a known code (a proxy's, or a route the fleet lacks). */
export const STATUS_TEXT: Record<'401' | '403' | '404' | '409' | '429' | '5xx' | 'network' | 'other', Entry> = {
  '401': ERROR_TEXT.FLEET_ERR_UNAUTHORIZED!,
  '403': ERROR_TEXT.FLEET_ERR_FORBIDDEN!,
  '404': ERROR_TEXT.FLEET_ERR_NOT_FOUND!,
  '409': ERROR_TEXT.FLEET_ERR_CONFLICT!,
  '429': ERROR_TEXT.FLEET_ERR_RATE_LIMITED!,
  '5xx': ERROR_TEXT.FLEET_ERR_INTERNAL!,
  network: {
    vi: 'Không kết nối được máy chủ. Kiểm tra đường truyền rồi thử lại.',
    en: 'Cannot reach the server. Check the connection and try again.',
  },
  other: { vi: 'Yêu cầu không thành công.', en: 'The request did not succeed.' },
};

/** What went wrong, in the page's language, from an error the API client threw (or anything else). */
export function errorText(lang: Lang, err: unknown): string {
  const e = err as { code?: unknown; status?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  if (code && ERROR_TEXT[code]) return ERROR_TEXT[code][lang];
  const status = typeof e?.status === 'number' ? e.status : undefined;
  if (status === undefined) return STATUS_TEXT.network[lang];
  if (status >= 500) return STATUS_TEXT['5xx'][lang];
  const key = String(status) as keyof typeof STATUS_TEXT;
  return (STATUS_TEXT[key] ?? STATUS_TEXT.other)[lang];
}

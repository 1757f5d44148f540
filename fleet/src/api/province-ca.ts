// The province CA's certificate, for phones and tablets to install: a phone
// blocks the camera on a page that is not a secure context, and the edges'
// join pages are HTTPS with certificates the province's CA issued, so a phone
// must trust that CA first. GET /ca is a page (Vietnamese and English) with
// the steps for Android and iOS, the certificate's SHA-256 fingerprint to
// compare, and links to /ca.crt (DER: what Android's and iOS's installers take,
// as a CA profile) and /ca.pem, and a QR code of the page's own address, so a
// phone can scan it off the TV or a laptop screen instead of typing it. Only
// the certificate is served: the CA's key never comes near the fleet. Unset
// DIEMCAU_PROVINCE_CA_FILE: the routes answer 404 and say which setting is missing.
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type {} from '@fastify/swagger';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import QRCode from 'qrcode';
import { Type } from '@sinclair/typebox';
import { DiemcauError } from '@diemcau/shared';

export interface ProvinceCa {
  pem: string;
  der: Buffer;
  fingerprint256: string;
  subject: string;
}

/** Reads the CA certificate once at start; an unreadable or non-CA file is a config error, never a silent 404. */
export function loadProvinceCa(file: string | undefined): ProvinceCa | null {
  if (file === undefined) return null;
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(readFileSync(file));
  } catch (err) {
    throw new DiemcauError('FLEET_ERR_CONFIG', `provinceCaFile (DIEMCAU_PROVINCE_CA_FILE): cannot read ${file}`, {
      cause: err,
    });
  }
  if (!cert.ca) {
    throw new DiemcauError(
      'FLEET_ERR_CONFIG',
      `provinceCaFile (DIEMCAU_PROVINCE_CA_FILE): ${file} is not a CA certificate (basicConstraints CA:TRUE)`,
    );
  }
  return { pem: cert.toString(), der: cert.raw, fingerprint256: cert.fingerprint256, subject: cert.subject };
}

const esc = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const STYLE = `body{font:16px/1.5 "Noto Sans",sans-serif;margin:0 auto;max-width:40rem;padding:1rem;color:#111}
a.btn{display:inline-block;margin:.5rem 0;padding:.8rem 1.2rem;background:#0b2545;color:#fff;border-radius:.5rem;text-decoration:none;font-weight:700}
code{word-break:break-all;font-size:.9rem}h2{font-size:1.1rem}.en{color:#444}
figure.qr{margin:1rem 0;display:flex;flex-wrap:wrap;gap:1rem;align-items:center}figure.qr svg{width:12rem;height:12rem;flex:0 0 auto}
figure.qr figcaption{flex:1 1 12rem}`;

/**
 * Nothing but this page's own style: no script, no image, no frame, no form.
 * The QR code is inline SVG (markup, not an image load), so it needs nothing more.
 */
export const CA_PAGE_CSP = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`,
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** A host header as a browser sends it (a name or an address, maybe a port); anything else gets no QR code. */
const HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

/**
 * The page's own absolute address, as the browser that opened it reached it
 * (so the QR code points where the laptop or TV showing it already got
 * through); null when the host header is not a plain host.
 */
export function ownUrl(req: Pick<FastifyRequest, 'protocol' | 'host'>): string | null {
  return HOST.test(req.host) ? `${req.protocol}://${req.host}/ca` : null;
}

/** The QR code of `url` as inline SVG, labelled for screen readers; made once per address (a few at most). */
const qrCache = new Map<string, Promise<string>>();
function qrSvg(url: string): Promise<string> {
  let svg = qrCache.get(url);
  if (!svg) {
    svg = QRCode.toString(url, { type: 'svg', errorCorrectionLevel: 'M', margin: 4 }).then((s) =>
      s.replace('<svg ', `<svg role="img" aria-label="${esc(`Mã QR: ${url}`)}" `),
    );
    // Host headers are the client's to choose: keep a few, never an unbounded map.
    if (qrCache.size >= 16) qrCache.delete(qrCache.keys().next().value!);
    qrCache.set(url, svg);
    svg.catch(() => qrCache.delete(url));
  }
  return svg;
}

function page(ca: ProvinceCa, url: string | null, qr: string | null): string {
  const scan =
    url === null || qr === null
      ? ''
      : `<figure class="qr">${qr}<figcaption>Quét mã này bằng camera của điện thoại để mở trang này trên điện thoại.<br><span class="en" lang="en">Scan with the phone's camera to open this page on the phone.</span><br><code id="own-url">${esc(url)}</code></figcaption></figure>`;
  return `<!doctype html><html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Chứng chỉ của tỉnh</title><style>${STYLE}</style></head><body><main>
<h1>Cài chứng chỉ của tỉnh</h1>
<p>Điện thoại và máy tính bảng cần tin chứng chỉ này để mở trang tham gia họp (HTTPS) và bật camera.</p>
${scan}
<p><a class="btn" href="/ca.crt" download="diemcau-ca.crt">Tải chứng chỉ (ca.crt)</a></p>
<h2>Android</h2><ol><li>Tải tệp ở trên.</li><li>Cài đặt → Bảo mật → Mã hóa và thông tin xác thực → Cài đặt chứng chỉ → Chứng chỉ CA.</li><li>Chọn tệp diemcau-ca.crt.</li></ol>
<h2>iPhone, iPad</h2><ol><li>Mở trang này bằng Safari và tải tệp; chọn “Cho phép”.</li><li>Cài đặt → Cài đặt chung → VPN và quản lý thiết bị → cài hồ sơ vừa tải.</li><li>Cài đặt → Cài đặt chung → Giới thiệu → Cài đặt tin cậy chứng nhận → bật tin cậy hoàn toàn cho chứng chỉ này.</li></ol>
<p>Kiểm tra dấu vân tay (SHA-256) trùng với số cán bộ kỹ thuật của tỉnh đọc cho bạn:</p><p><code id="fingerprint">${esc(ca.fingerprint256)}</code></p>
<p class="small">${esc(ca.subject)}</p>
<div class="en" lang="en"><h2>Install the province's certificate</h2><p>Phones and tablets must trust it to open the meeting's join page over HTTPS and use the camera. Download <a href="/ca.crt">ca.crt</a> (or <a href="/ca.pem">ca.pem</a>); Android: Settings → Security → Encryption &amp; credentials → Install a certificate → CA certificate. iOS: download in Safari, install the profile under Settings → General → VPN &amp; Device Management, then turn on full trust under Settings → General → About → Certificate Trust Settings. Compare the SHA-256 fingerprint above with the one the province's IT staff give you.</p></div>
</main></body></html>`;
}

export function provinceCaRoutes(ca: ProvinceCa | null): FastifyPluginAsync {
  return async (app) => {
    const need = (): ProvinceCa => {
      if (!ca) throw new DiemcauError('FLEET_ERR_NOT_FOUND', 'no province CA is configured (DIEMCAU_PROVINCE_CA_FILE)');
      return ca;
    };
    const file = (type: string, summary: string, description: string) => ({
      config: { public: true },
      schema: {
        tags: ['health'],
        summary,
        response: {
          200: { description, content: { [type]: { schema: Type.String() } } },
          404: { description: 'No province CA is configured (DIEMCAU_PROVINCE_CA_FILE)', ...Type.Ref('Error') },
        },
      },
    });
    app.get(
      '/ca',
      file(
        'text/html',
        "A page for phones and tablets: install the province CA's certificate (Android and iOS steps, its SHA-256 fingerprint)",
        'The page, in Vietnamese and English',
      ),
      async (req, reply) => {
        const ca = need();
        const url = ownUrl(req);
        return reply
          .type('text/html; charset=utf-8')
          .header('content-security-policy', CA_PAGE_CSP)
          .header('x-content-type-options', 'nosniff')
          .header('cache-control', 'no-store')
          .send(page(ca, url, url === null ? null : await qrSvg(url)));
      },
    );
    app.get(
      '/ca.crt',
      file(
        'application/x-x509-ca-cert',
        "The province CA's certificate as DER, what a phone's installer takes as a CA profile",
        'The certificate (DER)',
      ),
      async (_req, reply) =>
        reply
          .type('application/x-x509-ca-cert')
          .header('content-disposition', 'attachment; filename="diemcau-ca.crt"')
          .send(need().der),
    );
    app.get(
      '/ca.pem',
      file('application/x-pem-file', "The province CA's certificate as PEM", 'The certificate (PEM)'),
      async (_req, reply) => reply.type('application/x-pem-file').send(need().pem),
    );
  };
}

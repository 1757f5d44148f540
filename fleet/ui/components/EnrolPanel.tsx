// For a site without a box: mint an enrolment token and show it as text and as
// a QR code holding the bootstrap the box reads (fleet URL, token, site).
import QRCode from 'qrcode';
import { useState } from 'preact/hooks';
import type { Site } from '../api/types.js';
import { useI18n } from '../i18n/i18n.js';
import { errorText } from '../i18n/errors.js';
import { useApp, useSnapshot } from '../state/hooks.js';

interface Minted {
  token: string;
  expiresAt: string;
  qrSvg: string;
}

export function EnrolPanel(props: { site: Site; revoked?: boolean }) {
  const i18n = useI18n();
  const { t } = i18n;
  const { api } = useApp();
  const snap = useSnapshot();
  const [minted, setMinted] = useState<Minted | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const mint = async () => {
    setBusy(true);
    setError(null);
    try {
      const out = await api.post<{ token: string; expiresAt: string }>(
        `/api/v1/sites/${encodeURIComponent(props.site.id)}/enrollment-tokens`,
        {},
      );
      const bootstrap = {
        v: 1,
        fleetUrl: location.origin,
        token: out.token,
        siteId: props.site.id,
        siteName: props.site.name,
      };
      const qrSvg = await QRCode.toString(JSON.stringify(bootstrap), {
        type: 'svg',
        errorCorrectionLevel: 'M',
        margin: 2,
      });
      setMinted({ ...out, qrSvg });
    } catch (err) {
      setError(errorText(i18n.lang, err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="enrol">
      {!props.revoked && <p class="muted">{t('site.noBox')}</p>}
      {minted ? (
        <div class="enrol-out" data-testid="enrol-token">
          <div class="qr" dangerouslySetInnerHTML={{ __html: minted.qrSvg }} />
          <div>
            <div class="muted small">{t('site.enrolToken')}</div>
            <code class="token">{minted.token}</code>
            <div class="muted small">{t('site.enrolExpires', { time: i18n.time(minted.expiresAt) })}</div>
          </div>
        </div>
      ) : (
        snap.operator?.role !== 'viewer' && (
          <button type="button" class="btn primary" disabled={busy} onClick={() => void mint()}>
            {t('site.enrol')}
          </button>
        )
      )}
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

// The operator pastes the token the province's IT centre issued. It is checked
// against the API before it is kept, so a typo gets an answer at once.
import { useState } from 'preact/hooks';
import { useI18n } from '../i18n/i18n.js';
import { LangSwitch } from '../components/LangSwitch.js';
import { Logo } from '../components/Logo.js';

export function SignIn(props: { onSignedIn(token: string, remember: boolean): void }) {
  const { t } = useI18n();
  const [token, setToken] = useState('');
  const [remember, setRemember] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    const value = token.trim();
    if (!value) return;
    setBusy(true);
    setError(null);
    try {
      const res = await fetch('/api/v1/sites', { headers: { authorization: `Bearer ${value}` } });
      if (res.status === 401 || res.status === 403) setError(t('signin.bad'));
      else if (!res.ok) setError(t('common.error', { msg: `HTTP ${res.status}` }));
      else props.onSignedIn(value, remember);
    } catch {
      setError(t('signin.unreachable'));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="signin">
      <div class="signin-lang">
        <LangSwitch />
      </div>
      <form class="signin-card" onSubmit={submit}>
        <div class="signin-brand">
          <Logo size={44} />
          <div>
            <h1>{t('app.name')}</h1>
            <p>{t('app.tagline')}</p>
          </div>
        </div>
        <h2>{t('signin.title')}</h2>
        <p class="muted">{t('signin.lead')}</p>
        <label class="field">
          <span>{t('signin.token')}</span>
          <input
            name="token"
            type="password"
            autocomplete="current-password"
            autofocus
            value={token}
            onInput={(e) => setToken((e.target as HTMLInputElement).value)}
          />
        </label>
        <label class="check">
          <input
            type="checkbox"
            checked={remember}
            onChange={(e) => setRemember((e.target as HTMLInputElement).checked)}
          />
          <span>{t('signin.remember')}</span>
        </label>
        {error && (
          <p class="form-error" role="alert">
            {error}
          </p>
        )}
        <button class="btn primary wide" type="submit" disabled={busy || !token.trim()}>
          {t('signin.submit')}
        </button>
      </form>
    </main>
  );
}

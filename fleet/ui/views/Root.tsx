// Signed out: the token form. Signed in: one store and one event feed for the
// whole session, torn down on sign-out so nothing of the last operator lingers.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { createApi } from '../api/client.js';
import { openEventFeed } from '../api/events.js';
import { useI18n } from '../i18n/i18n.js';
import { AppCtx } from '../state/hooks.js';
import { Store } from '../state/store.js';
import { Shell } from './Shell.js';
import { SignIn } from './SignIn.js';

const TOKEN_KEY = 'diemcau.token';

function savedToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function Root() {
  const [token, setToken] = useState<string | null>(savedToken);
  const signIn = (t: string, remember: boolean) => {
    try {
      (remember ? localStorage : sessionStorage).setItem(TOKEN_KEY, t);
    } catch {
      /* kept in memory only */
    }
    setToken(t);
  };
  const signOut = () => {
    try {
      localStorage.removeItem(TOKEN_KEY);
      sessionStorage.removeItem(TOKEN_KEY);
    } catch {
      /* nothing kept */
    }
    setToken(null);
  };
  if (!token) return <SignIn onSignedIn={signIn} />;
  return <Session key={token} token={token} signOut={signOut} />;
}

function Session(props: { token: string; signOut(): void }) {
  const { t } = useI18n();
  const ctx = useMemo(() => {
    const api = createApi(props.token, props.signOut);
    return { api, store: new Store(api), signOut: props.signOut };
  }, [props.token]);

  useEffect(() => {
    const { store } = ctx;
    let first = true;
    const feed = openEventFeed(props.token, {
      onEvent: (e) => store.apply(e),
      // Every (re)connect reloads the snapshot: events missed while down are not replayed.
      onOpen: () => {
        store.setLive(true);
        if (!first) void store.load();
        first = false;
      },
      onDown: () => store.setLive(false),
      onUnauthorized: props.signOut,
    });
    void store.load();
    return () => {
      feed.close();
      store.close();
    };
  }, [ctx]);

  useEffect(() => {
    document.title = `${t('app.name')} · ${t('app.tagline')}`;
  }, [t]);

  return (
    <AppCtx.Provider value={ctx}>
      <Shell />
    </AppCtx.Provider>
  );
}

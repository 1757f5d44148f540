// Small hooks the views share: the store from context, the hash route, a ticking clock.
import { createContext } from 'preact';
import { useContext, useEffect, useState } from 'preact/hooks';
import type { Api } from '../api/client.js';
import type { Snapshot, Store } from './store.js';

export interface AppContext {
  store: Store;
  api: Api;
  signOut(): void;
}
export const AppCtx = createContext<AppContext | null>(null);

export function useApp(): AppContext {
  const ctx = useContext(AppCtx);
  if (!ctx) throw new Error('useApp outside the signed-in shell');
  return ctx;
}

export function useSnapshot(): Snapshot {
  const { store } = useApp();
  const [snap, setSnap] = useState(store.snapshot);
  useEffect(() => {
    setSnap(store.snapshot);
    return store.subscribe(setSnap);
  }, [store]);
  return snap;
}

export type Route =
  | { name: 'overview' }
  | { name: 'wall' }
  | { name: 'alerts' }
  | { name: 'meetings' }
  | { name: 'rollouts' }
  | { name: 'meeting'; id: string }
  | { name: 'site'; id: string }
  | { name: 'device'; id: string };

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  if (parts[0] === 'alerts') return { name: 'alerts' };
  if (parts[0] === 'wall') return { name: 'wall' };
  if (parts[0] === 'rollouts') return { name: 'rollouts' };
  if (parts[0] === 'meetings') return parts[1] ? { name: 'meeting', id: parts[1] } : { name: 'meetings' };
  if (parts[0] === 'sites' && parts[1]) return { name: 'site', id: parts[1] };
  if (parts[0] === 'devices' && parts[1]) return { name: 'device', id: parts[1] };
  return { name: 'overview' };
}

export const hrefSite = (id: string): string => `#/sites/${encodeURIComponent(id)}`;
export const hrefDevice = (id: string): string => `#/devices/${encodeURIComponent(id)}`;

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const on = () => {
      setRoute(parseRoute(location.hash));
      window.scrollTo(0, 0);
    };
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}

/** Re-renders every `ms` so "3 minutes ago" stays true. */
export function useNow(ms = 15_000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

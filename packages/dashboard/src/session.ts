/**
 * The signed-in key: kept in sessionStorage (this tab, until it closes or signs out; never in a
 * URL, never in localStorage), with who the API says it is (`GET /v1/me`).
 */
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import { GpufleetClient, type Me } from '@gpufleet/api-client';

const STORAGE_KEY = 'gpufleet.apiKey';

export interface Session {
  client: GpufleetClient;
  me: Me;
  signOut: () => void;
}

export const SessionContext = createContext<Session | null>(null);

/** The session of a signed-in page (the app renders pages only inside one). */
export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a signed-in page');
  return session;
}

export function clientFor(key: string): GpufleetClient {
  // Same origin: the API serves the dashboard. One retry budget per client, as the CLI has.
  return new GpufleetClient({ url: location.origin, token: key });
}

export const storedKey = (): string | null => sessionStorage.getItem(STORAGE_KEY);
export const storeKey = (key: string): void => sessionStorage.setItem(STORAGE_KEY, key);
export const forgetKey = (): void => sessionStorage.removeItem(STORAGE_KEY);

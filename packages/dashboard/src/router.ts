/**
 * Routing by the URL's hash (`#/tasks/01J…`): the API serves one index.html under `/` and needs no
 * fallback route for the pages, and the pages' addresses still work as links, bookmarks and with
 * the back button. Written here rather than taken from a router library: the one that fits Preact's
 * hash routing (wouter-preact) does not accept Preact 11, and what is needed is these few lines.
 */
import { useEffect, useState } from 'preact/hooks';

/** The pages and the path each answers; `:name` is a parameter. */
export const ROUTES = {
  fleet: '/fleet',
  queues: '/queues',
  tasks: '/tasks',
  task: '/tasks/:id',
  dead: '/dead-letters',
} as const;

export type PageName = keyof typeof ROUTES;

export interface Route {
  page: PageName | null;
  params: Record<string, string>;
  /** The query after the path (`#/tasks?status=queued`). */
  query: URLSearchParams;
  path: string;
}

/** The route of hash `hash` (`#/tasks/x?a=b`); the fleet page for an empty one. */
export function parseRoute(hash: string): Route {
  const raw = hash.replace(/^#/, '') || ROUTES.fleet;
  const [path = '/', search = ''] = raw.split('?', 2);
  const query = new URLSearchParams(search);
  const parts = path.split('/').filter(Boolean);
  for (const [page, pattern] of Object.entries(ROUTES) as Array<[PageName, string]>) {
    const want = pattern.split('/').filter(Boolean);
    if (want.length !== parts.length) continue;
    const params: Record<string, string> = {};
    const match = want.every((segment, i) => {
      const part = parts[i] ?? '';
      if (segment.startsWith(':')) params[segment.slice(1)] = decodeURIComponent(part);
      return segment.startsWith(':') || segment === part;
    });
    if (match) return { page, params, query, path };
  }
  return { page: null, params: {}, query, path };
}

/** The link to a page: `href('task', { id })` → `#/tasks/<id>`; `query` is added as `?…`. */
export function href(page: PageName, params: Record<string, string> = {}, query?: URLSearchParams): string {
  const path = ROUTES[page].replace(/:([a-z]+)/g, (_, name: string) =>
    encodeURIComponent(params[name] ?? ''),
  );
  const search = query?.toString();
  return `#${path}${search ? `?${search}` : ''}`;
}

/** The current route, following the hash. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const changed = (): void => setRoute(parseRoute(location.hash));
    window.addEventListener('hashchange', changed);
    return () => window.removeEventListener('hashchange', changed);
  }, []);
  return route;
}

/** Replaces the query of the current page without a new history entry (filters). */
export function replaceQuery(query: URLSearchParams): void {
  const { path } = parseRoute(location.hash);
  const search = query.toString();
  history.replaceState(null, '', `#${path}${search ? `?${search}` : ''}`);
  window.dispatchEvent(new HashChangeEvent('hashchange'));
}

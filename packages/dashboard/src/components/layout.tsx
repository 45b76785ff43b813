/**
 * The frame of every signed-in page: the navigation (a link per page, the current one marked for
 * screen readers too), who is signed in, and signing out.
 */
import type { ComponentChildren } from 'preact';
import { href, type PageName, type Route } from '../router.js';
import { useSession } from '../session.js';

const NAV: Array<{ page: PageName; label: string; also?: PageName }> = [
  { page: 'fleet', label: 'Fleet' },
  { page: 'queues', label: 'Queues' },
  { page: 'tasks', label: 'Tasks', also: 'task' },
  { page: 'dead', label: 'Dead letters' },
];

export function Layout({ route, children }: { route: Route; children: ComponentChildren }) {
  const { me, signOut } = useSession();
  return (
    <div class="app">
      <header class="top">
        <a class="brand" href={href('fleet')}>
          gpufleet
        </a>
        <nav aria-label="Pages">
          {NAV.map(({ page, label, also }) => {
            const current = route.page === page || (also !== undefined && route.page === also);
            return (
              <a key={page} href={href(page)} aria-current={current ? 'page' : undefined}>
                {label}
              </a>
            );
          })}
        </nav>
        <span class="who" title={`key ${me.keyName}`}>
          {me.tenant} · {me.role}
        </span>
        <button type="button" class="link" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main class="content">{children}</main>
    </div>
  );
}

/**
 * The app: signs in (pages/sign-in.tsx) or restores this tab's session, then shows the page the
 * hash names inside the layout (components/layout.tsx). A key the API stops accepting (401) ends
 * the session and asks for a key again.
 */
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { ApiRequestError, type Me } from '@gpufleet/api-client';
import { Layout } from './components/layout.js';
import { DeadLettersPage } from './pages/dead-letters-page.js';
import { FleetPage } from './pages/fleet-page.js';
import { QueuesPage } from './pages/queues-page.js';
import { SignIn } from './pages/sign-in.js';
import { TaskPage } from './pages/task-page.js';
import { TasksPage } from './pages/tasks-page.js';
import { useRoute, type Route } from './router.js';
import { clientFor, forgetKey, SessionContext, storedKey, storeKey, type Session } from './session.js';

type State =
  { kind: 'checking' } | { kind: 'signed-out'; message: string | null } | { kind: 'in'; key: string; me: Me };

/** Who `key` is, or why it cannot sign in. */
async function whoIs(key: string): Promise<{ me: Me } | { message: string }> {
  try {
    return { me: await clientFor(key).me() };
  } catch (error) {
    if (error instanceof ApiRequestError && error.status === 401)
      return { message: 'The API does not know this key.' };
    return { message: `Could not reach the API: ${error instanceof Error ? error.message : String(error)}` };
  }
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'fleet':
      return <FleetPage />;
    case 'queues':
      return <QueuesPage />;
    case 'tasks':
      return <TasksPage query={route.query} />;
    case 'task':
      return <TaskPage id={route.params['id'] ?? ''} />;
    case 'dead':
      return <DeadLettersPage />;
    default:
      return (
        <section>
          <h1>Not found</h1>
          <p>
            No page at <code>{route.path}</code>. <a href="#/fleet">Go to the fleet</a>.
          </p>
        </section>
      );
  }
}

export function App() {
  const route = useRoute();
  const [state, setState] = useState<State>(() =>
    storedKey() ? { kind: 'checking' } : { kind: 'signed-out', message: null },
  );

  useEffect(() => {
    const key = storedKey();
    if (!key || state.kind !== 'checking') return;
    void whoIs(key).then((answer) => {
      if ('me' in answer) setState({ kind: 'in', key, me: answer.me });
      else {
        forgetKey();
        setState({ kind: 'signed-out', message: answer.message });
      }
    });
  }, [state.kind]);

  const signIn = useCallback(async (key: string): Promise<string | null> => {
    const answer = await whoIs(key);
    if (!('me' in answer)) return answer.message;
    storeKey(key);
    setState({ kind: 'in', key, me: answer.me });
    return null;
  }, []);

  const signOut = useCallback(() => {
    forgetKey();
    setState({ kind: 'signed-out', message: null });
  }, []);

  const session = useMemo<Session | null>(
    () => (state.kind === 'in' ? { client: clientFor(state.key), me: state.me, signOut } : null),
    [state, signOut],
  );

  if (state.kind === 'checking') return <p class="loading">Signing in…</p>;
  if (!session)
    return <SignIn onSignIn={signIn} message={state.kind === 'signed-out' ? state.message : null} />;
  return (
    <SessionContext.Provider value={session}>
      <Layout route={route}>
        <Page route={route} />
      </Layout>
    </SessionContext.Provider>
  );
}

/**
 * Sign in with an API key (the keys file's, or `npm start`'s local token). The key goes to
 * sessionStorage only once the API accepted it (app.tsx), and is never put in a URL.
 */
import { useState } from 'preact/hooks';

export function SignIn({
  onSignIn,
  message,
}: {
  onSignIn: (key: string) => Promise<string | null>;
  message: string | null;
}) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(message);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    const trimmed = key.trim();
    if (!trimmed) return setError('Enter an API key.');
    setBusy(true);
    setError(await onSignIn(trimmed));
    setBusy(false);
  };
  return (
    <main class="sign-in">
      <form onSubmit={(e) => void submit(e)} aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">gpufleet</h1>
        <p class="muted">Sign in with your API key. It is kept for this browser tab only.</p>
        <label for="api-key">API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          autocomplete="off"
          spellcheck={false}
          value={key}
          onInput={(e) => setKey(e.currentTarget.value)}
          autoFocus
        />
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p class="muted small">
          Running <code>npm start</code>? Its key is in <code>.gpufleet/local-token</code>; an operator makes
          one with <code>gpufleet-api keys new --tenant NAME</code>.
        </p>
      </form>
    </main>
  );
}

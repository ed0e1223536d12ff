import { createSignal, onMount, Show } from 'solid-js';
import { currentToken, setToken } from '../api';
import { connectLive, live } from '../live-store';

/** Sign in by pasting an operator token (`POST /api/v1/users` gives one; the first start prints the admin's). */
export function Login() {
  const [value, setValue] = createSignal('');
  const [busy, setBusy] = createSignal(false);
  const signIn = async (token: string) => {
    setBusy(true);
    try {
      await connectLive(token);
      setToken(token);
    } catch {
      setToken(null);
    } finally {
      setBusy(false);
    }
  };
  onMount(() => {
    const saved = currentToken();
    if (saved) void signIn(saved);
  });
  return (
    <main class="login">
      <h1>Tollgate console</h1>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void signIn(value().trim());
        }}
      >
        <label for="token">Operator token</label>
        <input id="token" name="token" type="password" autocomplete="off" required value={value()} onInput={(e) => setValue(e.currentTarget.value)} />
        <p class="hint">Paste the token you were given (ADMIN: <code>.tollgate/admin-token</code> on first start).</p>
        <button type="submit" disabled={busy()}>
          {busy() ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      <Show when={live.problem()}>
        <p role="alert" class="problem">
          {live.problem()}
        </p>
      </Show>
    </main>
  );
}

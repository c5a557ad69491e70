/**
 * Shown instead of any page when the API answers 401: one field for an API token (made on
 * the server with `baton token create NAME`). The token is checked against the API before it
 * is kept (auth.ts); the page that asked for it opens again once it is accepted.
 */
import { useId, useState } from 'react';
import { checkToken } from '../api.ts';
import { type AuthState, logIn } from '../auth.ts';
import { useDocumentTitle } from '../hooks.ts';

export function Login({ auth }: { auth: AuthState }) {
  useDocumentTitle('Log in');
  const [token, setToken] = useState('');
  const [checking, setChecking] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const ids = { field: useId(), help: useId(), error: useId() };

  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    const value = token.trim();
    if (value === '') {
      setError('Enter a token.');
      return;
    }
    setChecking(true);
    setError(null);
    const refused = await checkToken(value);
    setChecking(false);
    if (refused === null) logIn(value);
    else setError(refused);
  };

  return (
    <section className="page login" aria-labelledby="page-title">
      <h1 id="page-title" tabIndex={-1}>
        Log in
      </h1>
      {auth.reason ? (
        <p className="notice warn" role="status">
          {auth.reason}
        </p>
      ) : null}
      <form className="login-form" onSubmit={submit} noValidate>
        <label htmlFor={ids.field}>API token</label>
        <input
          id={ids.field}
          name="token"
          type="password"
          autoComplete="current-password"
          spellCheck={false}
          // biome-ignore lint/a11y/noAutofocus: the form is the whole page
          autoFocus
          value={token}
          onChange={(e) => {
            setToken(e.target.value);
            setError(null);
          }}
          aria-describedby={error ? `${ids.help} ${ids.error}` : ids.help}
          aria-invalid={error ? true : undefined}
        />
        <p id={ids.help} className="small muted">
          This orchestrator needs a token. An administrator makes one on the server with{' '}
          <code>baton token create NAME</code>. It is kept in this tab only, until the tab is
          closed.
        </p>
        {error ? (
          <p id={ids.error} className="notice error" role="alert">
            {error}
          </p>
        ) : null}
        <div className="actions">
          <button type="submit" className="primary" disabled={checking}>
            {checking ? 'Checking…' : 'Log in'}
          </button>
        </div>
      </form>
    </section>
  );
}

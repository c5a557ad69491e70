/**
 * The API token of this tab. A server with authentication answers 401 to `/v1` without one;
 * the UI then shows its login form, checks the token typed there against the API, and keeps
 * it in sessionStorage: it survives reloads of the tab but not the tab itself, and other tabs
 * log in on their own. Every request sends it as `Authorization: Bearer`, the live stream too
 * (fetched as a stream rather than opened with EventSource, which cannot send headers: a
 * token in the URL would end up in logs and browser history). A server without
 * authentication never answers 401, so no form is ever shown.
 */

const KEY = 'baton.token';

export interface AuthState {
  /** the token requests carry; null: none */
  token: string | null;
  /** the API refused a request: show the login form */
  required: boolean;
  /** why, when a token the tab had was refused */
  reason: string | null;
}

function stored(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null; // storage disabled: log in again after each reload
  }
}

function store(token: string | null): void {
  try {
    if (token === null) sessionStorage.removeItem(KEY);
    else sessionStorage.setItem(KEY, token);
  } catch {}
}

let state: AuthState = { token: stored(), required: false, reason: null };
const listeners = new Set<() => void>();

function set(next: AuthState): void {
  state = next;
  for (const listener of listeners) listener();
}

/** For useSyncExternalStore. */
export function subscribeAuth(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function authState(): AuthState {
  return state;
}

/** The header every API request carries (none without a token). */
export function authHeaders(): Record<string, string> {
  return state.token === null ? {} : { authorization: `Bearer ${state.token}` };
}

/** The API answered 401: forget a refused token and ask for one. */
export function reportUnauthorized(message: string): void {
  if (state.required) return;
  const reason = state.token === null ? null : `Your token was refused: ${message}`;
  store(null);
  set({ token: null, required: true, reason });
}

/** A token the API accepted. */
export function logIn(token: string): void {
  store(token);
  set({ token, required: false, reason: null });
}

export function logOut(): void {
  store(null);
  set({ token: null, required: true, reason: null });
}

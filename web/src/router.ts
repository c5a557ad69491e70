/**
 * A router the size of the UI's three pages: the History API, one listener set, and a pure
 * `matchRoute`. Links are real `<a href>`s (open in a new tab works); plain clicks navigate
 * without a reload.
 */
import { useSyncExternalStore } from 'react';

export type Route =
  | { page: 'runs' }
  | { page: 'submit' }
  | { page: 'schedules' }
  | { page: 'run'; id: string }
  | { page: 'missing'; path: string };

export function matchRoute(pathname: string): Route {
  const path = pathname.replace(/\/+$/, '') || '/';
  if (path === '/' || path === '/runs') return { page: 'runs' };
  if (path === '/submit') return { page: 'submit' };
  if (path === '/schedules') return { page: 'schedules' };
  const run = /^\/runs\/([^/]+)$/.exec(path);
  if (run) {
    try {
      return { page: 'run', id: decodeURIComponent(run[1]) };
    } catch {
      return { page: 'missing', path };
    }
  }
  return { page: 'missing', path };
}

const listeners = new Set<() => void>();

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  window.addEventListener('popstate', listener);
  return () => {
    listeners.delete(listener);
    window.removeEventListener('popstate', listener);
  };
}

const snapshot = () => window.location.pathname + window.location.search;

/** The current path and query string, re-rendering on every navigation. */
export function useLocation(): { pathname: string; query: URLSearchParams; href: string } {
  const href = useSyncExternalStore(subscribe, snapshot);
  const url = new URL(href, window.location.origin);
  return { pathname: url.pathname, query: url.searchParams, href };
}

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (to === snapshot()) return;
  if (options.replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  for (const listener of listeners) listener();
}

/** Rewrites query parameters of the current URL (undefined or '' removes one), in place. */
export function setQuery(changes: Record<string, string | undefined>, replace = true): void {
  const url = new URL(window.location.href);
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined || value === '') url.searchParams.delete(key);
    else url.searchParams.set(key, value);
  }
  navigate(url.pathname + url.search, { replace });
}

/** Handles a click on an internal link: true when it navigated without a reload. */
export function followLink(
  event: {
    button: number;
    metaKey: boolean;
    ctrlKey: boolean;
    shiftKey: boolean;
    altKey: boolean;
    defaultPrevented: boolean;
    preventDefault(): void;
  },
  href: string,
): boolean {
  if (
    event.defaultPrevented ||
    event.button !== 0 ||
    event.metaKey ||
    event.ctrlKey ||
    event.shiftKey ||
    event.altKey
  ) {
    return false;
  }
  event.preventDefault();
  navigate(href);
  return true;
}

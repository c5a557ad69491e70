/**
 * The shell: header and navigation, one page per route, focus moved to each new page. When
 * the API asks for a token (auth.ts), the login form stands in for the page until one is
 * accepted; the page then opens afresh with it.
 */
import { useEffect, useRef, useSyncExternalStore } from 'react';
import { authState, logOut, subscribeAuth } from './auth.ts';
import { Link } from './components/common.tsx';
import { Login } from './pages/Login.tsx';
import { RunPage } from './pages/RunPage.tsx';
import { RunsList } from './pages/RunsList.tsx';
import { Schedules } from './pages/Schedules.tsx';
import { Submit } from './pages/Submit.tsx';
import { matchRoute, useLocation } from './router.ts';

export function App() {
  const { pathname } = useLocation();
  const route = matchRoute(pathname);
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);
  const auth = useSyncExternalStore(subscribeAuth, authState);

  // After a navigation (not the first load), move focus to the new page's heading, as a
  // full page load would, so screen readers announce it.
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs on every route change
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    main.current?.querySelector<HTMLElement>('h1')?.focus();
  }, [pathname]);

  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <Link href="/" className="brand">
          Baton
        </Link>
        <nav aria-label="Main">
          <ul>
            <li>
              <Link href="/" aria-current={route.page === 'runs' ? 'page' : undefined}>
                Runs
              </Link>
            </li>
            <li>
              <Link href="/submit" aria-current={route.page === 'submit' ? 'page' : undefined}>
                Submit
              </Link>
            </li>
            <li>
              <Link
                href="/schedules"
                aria-current={route.page === 'schedules' ? 'page' : undefined}
              >
                Schedules
              </Link>
            </li>
            <li>
              <a href="/apidocs/">API</a>
            </li>
          </ul>
        </nav>
        {auth.token !== null ? (
          <button type="button" className="link logout" onClick={logOut}>
            Log out
          </button>
        ) : null}
      </header>
      <main id="main" ref={main}>
        {auth.required ? <Login auth={auth} /> : <Page route={route} />}
      </main>
    </>
  );
}

function Page({ route }: { route: ReturnType<typeof matchRoute> }) {
  return (
    <>
      {route.page === 'runs' ? <RunsList /> : null}
      {route.page === 'submit' ? <Submit /> : null}
      {route.page === 'schedules' ? <Schedules /> : null}
      {route.page === 'run' ? <RunPage key={route.id} id={route.id} /> : null}
      {route.page === 'missing' ? (
        <section className="page" aria-labelledby="page-title">
          <h1 id="page-title" tabIndex={-1}>
            Page not found
          </h1>
          <p>
            Nothing at <code>{route.path}</code>. <Link href="/">See the runs</Link>.
          </p>
        </section>
      ) : null}
    </>
  );
}

/** Small hooks shared by the pages: a ticking clock, visibility-aware polling, page titles. */
import { useEffect, useRef, useState } from 'react';

/** Date.now(), refreshed every `ms` while `active`. */
export function useNow(ms: number, active = true): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms, active]);
  return now;
}

/**
 * Calls `poll` now and every `ms` after the previous call finished, paused while the tab is
 * hidden (and polled at once when it shows again).
 */
export function usePolling(
  poll: (signal: AbortSignal) => Promise<void>,
  ms: number,
  /** polling restarts (at once) when this changes */
  key: string,
) {
  const latest = useRef(poll);
  latest.current = poll;
  // biome-ignore lint/correctness/useExhaustiveDependencies: key restarts the polling
  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let running = false;
    const tick = async () => {
      timer = undefined;
      if (document.hidden || running) return;
      running = true;
      try {
        await latest.current(controller.signal);
      } catch {
        // the poller reports its own errors; polling goes on
      } finally {
        running = false;
      }
      if (!controller.signal.aborted && !document.hidden) timer = setTimeout(tick, ms);
    };
    const onVisibility = () => {
      if (!document.hidden && timer === undefined && !running) void tick();
    };
    document.addEventListener('visibilitychange', onVisibility);
    void tick();
    return () => {
      controller.abort();
      if (timer !== undefined) clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, [ms, key]);
}

export function useDocumentTitle(title: string): void {
  useEffect(() => {
    document.title = title ? `${title} · Baton` : 'Baton';
  }, [title]);
}

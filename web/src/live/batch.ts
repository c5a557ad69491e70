/**
 * Accumulates items (SSE events) and hands them over once per animation frame: a burst of a
 * thousand state changes costs one React update, not a thousand. The scheduler is injected
 * (requestAnimationFrame in the page, a manual one in tests).
 */
export interface Batcher<T> {
  push(item: T): void;
  /** hands over what is pending now, without waiting for the frame */
  flush(): void;
  /** drops what is pending and stops */
  cancel(): void;
}

export type Schedule = (callback: () => void) => () => void;

export function frameBatcher<T>(deliver: (items: T[]) => void, schedule: Schedule): Batcher<T> {
  let pending: T[] = [];
  let unschedule: (() => void) | undefined;
  let cancelled = false;
  const flush = () => {
    unschedule?.();
    unschedule = undefined;
    if (pending.length === 0) return;
    const items = pending;
    pending = [];
    deliver(items);
  };
  return {
    push(item) {
      if (cancelled) return;
      pending.push(item);
      unschedule ??= schedule(() => {
        unschedule = undefined;
        flush();
      });
    },
    flush,
    cancel() {
      cancelled = true;
      unschedule?.();
      unschedule = undefined;
      pending = [];
    },
  };
}

/**
 * requestAnimationFrame, except in a hidden tab where frames stop: there, once a second, so
 * a background tab does not pile up a run's whole history.
 */
export const animationFrame: Schedule = (callback) => {
  if (typeof document !== 'undefined' && document.hidden) {
    const timer = setTimeout(callback, 1000);
    return () => clearTimeout(timer);
  }
  const frame = requestAnimationFrame(callback);
  return () => cancelAnimationFrame(frame);
};

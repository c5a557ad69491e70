/**
 * Node and graph states. The numeric codes are gorchestrator's and part of the public API
 * (docs/architecture.md §2): never renumber, never reuse a code.
 *
 *   initial(0) ─start─> torun(1) ─preds ok─> running(2) ─┬─> success(3)
 *                          │  ^                          ├─> failure(4)   (after retries)
 *                          │  └──── retry backoff ───────┤
 *                          │                             └─> timeout(10)
 *                          └─ an ancestor failed ─> notrunnable(5)
 *   any unfinished ─cancel─> canceled(11) · ─graph timeout─> timeout(10)
 *
 * A graph uses the same codes: initial before start, running while anything is torun or
 * running, then success, failure, timeout or canceled.
 */
export const State = {
  initial: 0,
  torun: 1,
  running: 2,
  success: 3,
  failure: 4,
  notrunnable: 5,
  timeout: 10,
  canceled: 11,
} as const;

export type StateName = keyof typeof State;
export type StateCode = (typeof State)[StateName];

const names = new Map<number, StateName>(
  Object.entries(State).map(([name, code]) => [code, name as StateName]),
);

export function stateName(code: number): StateName {
  const name = names.get(code);
  if (name === undefined) throw new RangeError(`unknown state code ${code}`);
  return name;
}

export function isStateName(value: string): value is StateName {
  return Object.hasOwn(State, value);
}

/** A node in one of these states will not change again unless the run is retried. */
export function isFinal(code: number): boolean {
  return code >= State.success;
}

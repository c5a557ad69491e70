/** `sleep` (for tests and demos): sleeps args[0] seconds, or 0–1 s at random like gorchestrator. */
import { setTimeout as delay } from 'node:timers/promises';
import type { Driver, TaskContext, TaskResult } from '../types.ts';

export const sleepDriver: Driver = {
  async run(task: TaskContext): Promise<TaskResult> {
    const arg = task.node.args[0];
    const seconds = arg === undefined ? Math.random() : Number(arg);
    if (!Number.isFinite(seconds) || seconds < 0) {
      const error = `sleep: args[0] must be a number of seconds, got ${JSON.stringify(arg)}`;
      return { ok: false, output: {}, exitCode: null, error };
    }
    try {
      await delay(seconds * 1000, undefined, { signal: task.signal });
    } catch {
      return { ok: false, output: {}, exitCode: null, error: 'sleep interrupted' };
    }
    return { ok: true, output: {}, exitCode: null, error: null };
  },
};

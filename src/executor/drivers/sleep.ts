/** `sleep` (for tests and demos): as the orchestrator's (graph/engine-args.ts). */
import { setTimeout as delay } from 'node:timers/promises';
import { sleepOutput, sleepRequest } from '../../graph/engine-args.ts';
import type { Driver, TaskContext, TaskResult } from '../types.ts';

export const sleepDriver: Driver = {
  async run(task: TaskContext): Promise<TaskResult> {
    const request = sleepRequest(task.node.args);
    if ('invalid' in request) {
      const error = `sleep: args[0] must be a number of seconds >= 0, ${request.invalid}`;
      return { ok: false, output: {}, exitCode: null, error };
    }
    const seconds = 'seconds' in request ? request.seconds : Math.random();
    try {
      await delay(seconds * 1000, undefined, { signal: task.signal });
    } catch {
      return { ok: false, output: {}, exitCode: null, error: 'sleep interrupted' };
    }
    return {
      ok: true,
      output: sleepOutput(task.node.name, Date.now()),
      exitCode: null,
      error: null,
    };
  },
};

/**
 * The harness of the parser fuzz: runs a property of parse-worker.ts in a worker thread and
 * watches it. An input that takes longer than `guardMs` (no tick from the worker meanwhile)
 * is a hang: the worker is terminated and the run fails with the seed and the input's index,
 * which replay it. The guard is a hang detector, not a performance assertion.
 */
import { Worker } from 'node:worker_threads';
import type { Kind, WorkerInput, WorkerMessage } from './parse-worker.ts';

export interface ParserFuzzResult {
  kind: Kind;
  seed: number;
  inputs: number;
  accepted: number;
  rejected: number;
  slowestMs: number;
  slowest: string;
}

/** How long a worker may take to load before its first input. */
const STARTUP_MS = 300_000;

export function parserFuzz(input: WorkerInput, guardMs: number): Promise<ParserFuzzResult> {
  const worker = new Worker(new URL('./parse-worker.ts', import.meta.url), {
    workerData: input,
    // giant inputs (1M-element arrays, 100k-deep values) need room
    resourceLimits: { maxOldGenerationSizeMb: 4096 },
  });
  return new Promise((resolve, reject) => {
    let last = -1;
    let watchdog: ReturnType<typeof setTimeout>;
    const arm = (ms: number) => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => {
        worker.terminate();
        reject(
          new Error(
            last < 0
              ? `parser fuzz ${input.kind} (seed ${input.seed}): the worker did not start within ${ms} ms`
              : `parser fuzz ${input.kind} (seed ${input.seed}): input #${last} ran longer than ${ms} ms`,
          ),
        );
      }, ms);
    };
    // The first tick comes once the worker has loaded its modules (the parser, fast-check),
    // which on a loaded machine took more than the guard: start-up has its own, generous bound.
    arm(Math.max(guardMs, STARTUP_MS));
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'tick') {
        last = message.n;
        arm(guardMs);
      } else {
        clearTimeout(watchdog);
        worker.terminate();
        if (message.type === 'failed') {
          reject(new Error(`parser fuzz ${input.kind} (seed ${input.seed}): ${message.message}`));
        } else {
          const { type: _, ...counts } = message;
          resolve({ kind: input.kind, seed: input.seed, ...counts });
        }
      }
    });
    worker.on('error', (err) => {
      clearTimeout(watchdog);
      reject(err);
    });
    worker.on('exit', (code) => {
      clearTimeout(watchdog);
      reject(new Error(`parser fuzz worker exited with ${code} after input #${last}`));
    });
  });
}

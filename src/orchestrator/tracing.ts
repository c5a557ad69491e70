/**
 * What the run loop reports for traces: one span per run and, as its children, one span per
 * node attempt. The orchestrator knows this interface only; src/observability/otel.ts
 * implements it with OpenTelemetry and is loaded only when an OTLP endpoint is configured.
 * Times are epoch milliseconds as the orchestrator records them.
 *
 * Span lifecycle, keyed by run id (and node id within a run):
 *   runStarted ─> attemptStarted ─> attemptEnded (repeated per attempt) ─> runEnded
 *   runLeft ends whatever is open when this replica stops driving a run that has not ended
 *   (handed over, lease lost). The replica that takes the run over starts a new run span
 *   (`resumed`): spans across a takeover are not continuous.
 */
export interface RunStart {
  id: string;
  name: string;
  nodes: number;
  startedAt: number;
  /** this replica began driving a run that was already running (restart, takeover) */
  resumed: boolean;
}

export interface AttemptStart {
  node: number;
  name: string;
  engine: string;
  target: string;
  attempt: number;
  /** the attempt's recorded start; earlier than now for a re-attached attempt */
  startedAt: number;
  reattach: boolean;
}

export interface RunTracer {
  runStarted(run: RunStart): void;
  attemptStarted(runId: string, attempt: AttemptStart): void;
  /** `state`: success, failure, timeout or canceled */
  attemptEnded(runId: string, node: number, state: string, error?: string): void;
  runEnded(runId: string, state: string): void;
  runLeft(runId: string): void;
}

export const noTracer: RunTracer = {
  runStarted() {},
  attemptStarted() {},
  attemptEnded() {},
  runEnded() {},
  runLeft() {},
};

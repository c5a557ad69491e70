/**
 * OpenTelemetry traces of runs, sent to an OTLP/HTTP collector (JSON encoding). Loaded by
 * cli/server.ts with a dynamic import only when an endpoint is configured (`otlp.endpoint`,
 * BATON_OTLP_ENDPOINT): without one, no OpenTelemetry code runs.
 *
 * One span per run (`run NAME`) and, as its children, one per node attempt (`node NAME`),
 * with these attributes:
 *   run:     baton.run.id, baton.run.name, baton.run.nodes, baton.run.resumed, baton.state
 *   attempt: baton.run.id, baton.node.id, baton.node.name, baton.node.engine,
 *            baton.node.target, baton.attempt, baton.attempt.reattached, baton.state
 * `baton.state` is the final state (success, failure, timeout, canceled); failure and timeout
 * set the span's status to ERROR with the node's error as its message (a cancel is asked for,
 * not an error).
 *
 * A run span lives in the replica that drives the run. When a run moves to another replica
 * (restart, takeover, hand-over), the old span ends with `baton.handed_over = true` and the
 * new driver starts a new run span with `baton.run.resumed = true`: the two are separate
 * traces, not one continuous span (the trace context is not stored with the run).
 */
import { hostname } from 'node:os';
import {
  context,
  DiagLogLevel,
  diag,
  type Span,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { Logger } from 'pino';
import type { AttemptStart, RunStart, RunTracer } from '../orchestrator/tracing.ts';

export interface OtelOptions {
  /** collector base URL (`/v1/traces` is appended when it has no path) or full traces URL */
  endpoint: string;
  logger?: Logger;
  version?: string;
  /** how long finished spans wait to be sent in a batch; default 5000 ms */
  flushMs?: number;
}

/** The OTLP/HTTP traces URL for an endpoint, as OTEL_EXPORTER_OTLP_ENDPOINT is read. */
export function tracesUrl(endpoint: string): string {
  const url = new URL(endpoint);
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/v1/traces';
  return url.toString();
}

interface OpenRun {
  span: Span;
  attempts: Map<number, Span>;
}

export class OtelTracer implements RunTracer {
  readonly #provider: TracerProvider;
  readonly #tracer: Tracer;
  readonly #runs = new Map<string, OpenRun>();

  constructor(options: OtelOptions) {
    const { logger } = options;
    if (logger) {
      // Export failures (collector down, refused) reach the log instead of vanishing.
      diag.setLogger(
        {
          error: (message, ...args) => logger.warn({ args }, `opentelemetry: ${message}`),
          warn: (message, ...args) => logger.warn({ args }, `opentelemetry: ${message}`),
          info: () => {},
          debug: () => {},
          verbose: () => {},
        },
        { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
      );
    }
    this.#provider = new TracerProvider({
      resource: resourceFromAttributes({
        'service.name': 'baton',
        'service.version': options.version ?? '0.1.0',
        'host.name': hostname(),
        'process.pid': process.pid,
      }),
      spanProcessors: [
        new BatchSpanProcessor({
          exporter: new OTLPTraceExporter({ url: tracesUrl(options.endpoint) }),
          scheduledDelayMillis: options.flushMs ?? 5000,
        }),
      ],
    });
    this.#tracer = this.#provider.getTracer('baton', options.version ?? '0.1.0');
  }

  runStarted(run: RunStart): void {
    this.runLeft(run.id);
    const span = this.#tracer.startSpan(`run ${run.name}`, {
      root: true,
      startTime: run.startedAt,
      attributes: {
        'baton.run.id': run.id,
        'baton.run.name': run.name,
        'baton.run.nodes': run.nodes,
        'baton.run.resumed': run.resumed,
      },
    });
    this.#runs.set(run.id, { span, attempts: new Map() });
  }

  attemptStarted(runId: string, a: AttemptStart): void {
    const run = this.#runs.get(runId);
    if (!run) return;
    run.attempts.get(a.node)?.end();
    const span = this.#tracer.startSpan(
      `node ${a.name}`,
      {
        startTime: a.startedAt,
        attributes: {
          'baton.run.id': runId,
          'baton.node.id': a.node,
          'baton.node.name': a.name,
          'baton.node.engine': a.engine,
          'baton.node.target': a.target,
          'baton.attempt': a.attempt,
          'baton.attempt.reattached': a.reattach,
        },
      },
      trace.setSpan(context.active(), run.span),
    );
    run.attempts.set(a.node, span);
  }

  attemptEnded(runId: string, node: number, state: string, error?: string): void {
    const run = this.#runs.get(runId);
    const span = run?.attempts.get(node);
    if (!run || !span) return;
    run.attempts.delete(node);
    finish(span, state, error);
  }

  runEnded(runId: string, state: string): void {
    const run = this.#runs.get(runId);
    if (!run) return;
    this.#runs.delete(runId);
    // attempts the run's end overtook (a dispatch that raced a cancel) end with it
    for (const span of run.attempts.values()) finish(span, state);
    finish(run.span, state);
  }

  runLeft(runId: string): void {
    const run = this.#runs.get(runId);
    if (!run) return;
    this.#runs.delete(runId);
    for (const span of [...run.attempts.values(), run.span]) {
      span.setAttribute('baton.handed_over', true);
      span.end();
    }
  }

  /** Ends the spans still open (their runs resume elsewhere) and sends everything. */
  async shutdown(): Promise<void> {
    for (const id of [...this.#runs.keys()]) this.runLeft(id);
    await this.#provider.shutdown();
  }
}

function finish(span: Span, state: string, error?: string): void {
  span.setAttribute('baton.state', state);
  if (state === 'failure' || state === 'timeout') {
    span.setStatus({ code: SpanStatusCode.ERROR, message: error ?? state });
  }
  span.end();
}

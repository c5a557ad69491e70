/**
 * Cancel (POST /v1/tasks/{id}/cancel, confirmed in place) and Retry (POST /v1/tasks/{id}/retry).
 * The server decides; when it refuses, its message is shown here.
 */
import { useState } from 'react';
import { type ApiError, cancelRun, type RunDetail, retryRun } from '../api.ts';
import { isFinal, State } from '../states.ts';

export function RunActions(props: {
  id: string;
  runState: number;
  onRetried(run: RunDetail): void;
}) {
  const { id, runState, onRetried } = props;
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const final = isFinal(runState);

  const act = async (action: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (err) {
      setError(err as ApiError);
    } finally {
      setBusy(false);
      setConfirming(false);
    }
  };

  return (
    <div className="run-actions">
      {confirming ? (
        <fieldset className="confirm">
          <legend className="visually-hidden">Cancel this run?</legend>
          <button
            type="button"
            className="danger"
            disabled={busy}
            // biome-ignore lint/a11y/noAutofocus: the confirmation replaces the button that had focus
            autoFocus
            onClick={() => act(() => cancelRun(id).then(() => undefined))}
          >
            Yes, cancel the run
          </button>
          <button type="button" disabled={busy} onClick={() => setConfirming(false)}>
            Keep it running
          </button>
        </fieldset>
      ) : (
        <button
          type="button"
          disabled={final || busy}
          title={final ? 'The run has finished' : 'Stop every unfinished node'}
          onClick={() => {
            setError(null);
            setConfirming(true);
          }}
        >
          Cancel run
        </button>
      )}
      <button
        type="button"
        disabled={!final || runState === State.success || busy}
        title={
          !final
            ? 'The run has not finished'
            : runState === State.success
              ? 'Every node succeeded'
              : 'Run the failed, notrunnable, timed-out and canceled nodes again'
        }
        onClick={() => act(() => retryRun(id).then(onRetried))}
      >
        Retry
      </button>
      {error ? (
        <p className="notice error action-error" role="alert">
          {error.message}
        </p>
      ) : null}
    </div>
  );
}

/**
 * `/schedules`: every schedule with its pattern, zone, next and last occurrence, and whether
 * it is paused (with the scheduler's reason when it paused one itself); Pause/Resume and
 * Delete (confirmed in place). Polled every 2 s like the runs list: schedules are few, and
 * their next occurrence moves on its own. Schedules are created with `baton schedule create`
 * or `POST /v1/schedules`; the runs they fire are in the runs list, named after them.
 */
import { useCallback, useState } from 'react';
import {
  type ApiError,
  deleteSchedule,
  listSchedules,
  type Schedule,
  setSchedulePaused,
} from '../api.ts';
import { ErrorNotice, Link } from '../components/common.tsx';
import { formatTime } from '../format.ts';
import { useDocumentTitle, useNow, usePolling } from '../hooks.ts';

const POLL_MS = 2000;

export function Schedules() {
  useDocumentTitle('Schedules');
  const [schedules, setSchedules] = useState<Schedule[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [refresh, setRefresh] = useState(0);
  const now = useNow(1000);

  const poll = useCallback(async (signal: AbortSignal) => {
    try {
      const result = await listSchedules();
      if (signal.aborted) return;
      setSchedules(result.schedules);
      setError(null);
    } catch (err) {
      if (!signal.aborted) setError(err as ApiError);
    }
  }, []);
  // an action restarts the polling, so its effect shows at once
  usePolling(poll, POLL_MS, String(refresh));
  const changed = () => setRefresh((n) => n + 1);

  return (
    <section className="page schedules" aria-labelledby="page-title">
      <div className="page-head">
        <h1 id="page-title" tabIndex={-1}>
          Schedules
        </h1>
      </div>

      <ErrorNotice error={error}>Could not load the schedules (retrying every 2 s): </ErrorNotice>

      <div className="table-wrap">
        <table className="data schedules-table">
          <caption className="visually-hidden">Schedules, oldest first</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Cron</th>
              <th scope="col">Time zone</th>
              <th scope="col">Catchup</th>
              <th scope="col">Next fire</th>
              <th scope="col">Last fire</th>
              <th scope="col">State</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {schedules?.map((schedule) => (
              <ScheduleRow key={schedule.id} schedule={schedule} now={now} onChange={changed} />
            ))}
          </tbody>
        </table>
        {schedules && schedules.length === 0 ? (
          <p className="empty">
            No schedules yet. Create one with{' '}
            <code>baton schedule create FILE --cron "0 3 * * *"</code> or POST one to{' '}
            <code>/v1/schedules</code>.
          </p>
        ) : null}
        {schedules === null && !error ? <p className="empty">Loading…</p> : null}
      </div>
      <p className="muted small">
        Each occurrence starts an ordinary run named after its schedule: see the{' '}
        <Link href="/">runs</Link>.
      </p>
    </section>
  );
}

function ScheduleRow(props: { schedule: Schedule; now: number; onChange(): void }) {
  const { schedule, now, onChange } = props;
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);

  const act = async (action: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
      onChange();
    } catch (err) {
      setError(err as ApiError);
    } finally {
      setBusy(false);
      setConfirming(false);
    }
  };

  return (
    <tr data-schedule={schedule.id} data-paused={schedule.paused ? 'true' : 'false'}>
      <td>{schedule.name || '(unnamed)'}</td>
      <td>
        <code>{schedule.cron}</code>
      </td>
      <td>{schedule.timezone}</td>
      <td>{schedule.catchup}</td>
      <td title={schedule.next_fire_at ?? undefined}>
        {schedule.paused
          ? '-'
          : schedule.next_fire_at
            ? formatTime(schedule.next_fire_at, now)
            : 'never'}
        {!schedule.paused && schedule.next_fire_at ? (
          <div className="muted small">{inZone(schedule.next_fire_at, schedule.timezone)}</div>
        ) : null}
      </td>
      <td title={schedule.last_fire_at ?? undefined}>
        {schedule.last_fire_at ? formatTime(schedule.last_fire_at, now) : '-'}
      </td>
      <td>
        {schedule.paused ? 'paused' : 'active'}
        {schedule.error ? <div className="muted small">{schedule.error}</div> : null}
      </td>
      <td>
        <div className="run-actions">
          <button
            type="button"
            disabled={busy}
            onClick={() => act(() => setSchedulePaused(schedule.id, !schedule.paused))}
          >
            {schedule.paused ? 'Resume' : 'Pause'}
          </button>
          {confirming ? (
            <fieldset className="confirm">
              <legend className="visually-hidden">Delete the schedule {schedule.name}?</legend>
              <button
                type="button"
                className="danger"
                disabled={busy}
                // biome-ignore lint/a11y/noAutofocus: the confirmation replaces the button that had focus
                autoFocus
                onClick={() => act(() => deleteSchedule(schedule.id))}
              >
                Yes, delete
              </button>
              <button type="button" disabled={busy} onClick={() => setConfirming(false)}>
                Keep it
              </button>
            </fieldset>
          ) : (
            <button type="button" disabled={busy} onClick={() => setConfirming(true)}>
              Delete
            </button>
          )}
          {error ? (
            <p className="notice error action-error" role="alert">
              {error.message}
            </p>
          ) : null}
        </div>
      </td>
    </tr>
  );
}

/** The time as the schedule reads it: `03:00 Europe/Paris` (the column above is local time). */
function inZone(iso: string, timezone: string): string {
  try {
    const time = new Intl.DateTimeFormat('en-GB', {
      timeZone: timezone,
      hour: '2-digit',
      minute: '2-digit',
      second: new Date(iso).getUTCSeconds() === 0 ? undefined : '2-digit',
    }).format(new Date(iso));
    return `${time} ${timezone}`;
  } catch {
    return timezone;
  }
}

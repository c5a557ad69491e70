/** store/cron.ts: checking patterns and zones, and what each catchup policy fires. Pure. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkSchedule,
  MAX_CATCHUP,
  nextOccurrence,
  ON_TIME_MS,
  planFiring,
  ScheduleSpecError,
} from '../../src/store/cron.ts';

const T0 = Date.UTC(2030, 0, 1);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

describe('checkSchedule', () => {
  it('gives the canonical zone and the first occurrence after now', () => {
    assert.deepEqual(checkSchedule('0 3 * * *', 'europe/paris', T0), {
      timezone: 'Europe/Paris',
      first: T0 + 2 * HOUR, // 03:00 in Paris is 02:00 UTC in winter
    });
    assert.deepEqual(checkSchedule('*/10 * * * * *', 'UTC', T0 + 1), {
      timezone: 'UTC',
      first: T0 + 10_000,
    });
    assert.equal(checkSchedule('@daily', 'UTC', T0).first, T0 + 24 * HOUR);
  });

  it('names the field: croner’s message for a pattern, the zone, a pattern that never fires', () => {
    const fails = (cron: string, zone: string, field: string, message: RegExp) =>
      assert.throws(
        () => checkSchedule(cron, zone, T0),
        (err: unknown) =>
          err instanceof ScheduleSpecError && err.field === field && message.test(err.message),
      );
    fails('bad', 'UTC', 'cron', /exactly five, six, or seven space separated parts/);
    fails('61 * * * *', 'UTC', 'cron', /Invalid value for minute: 61/);
    fails('* * * * *', 'Mars/Olympus', 'timezone', /unknown time zone "Mars\/Olympus"/);
    fails('0 0 0 1 1 * 2001', 'UTC', 'cron', /has no occurrence after 2030-01-01T00:00:00.000Z/);
  });

  it('nextOccurrence is strictly after, and null when there is none', () => {
    assert.equal(nextOccurrence('* * * * *', 'UTC', T0), T0 + MINUTE);
    assert.equal(nextOccurrence('* * * * *', 'UTC', T0 - 1), T0);
    assert.equal(nextOccurrence('0 0 30 2 *', 'UTC', T0), null);
  });
});

describe('planFiring', () => {
  const minutely = (catchup: 'none' | 'last' | 'all', nextFireAt = T0 + MINUTE) => ({
    cron: '* * * * *',
    timezone: 'UTC',
    catchup,
    nextFireAt,
  });

  it('an on-time occurrence fires under every policy, once', () => {
    for (const catchup of ['none', 'last', 'all'] as const) {
      assert.deepEqual(planFiring(minutely(catchup), T0 + MINUTE), {
        occurrences: [T0 + MINUTE],
        nextFireAt: T0 + 2 * MINUTE,
      });
      assert.deepEqual(planFiring(minutely(catchup), T0 + MINUTE + 999).occurrences, [T0 + MINUTE]);
    }
  });

  it('after downtime: none fires nothing missed, last the latest, all every one', () => {
    // 10 minutes missed, the latest (T0 + 11 min) due for just under ON_TIME_MS: on time
    const now = T0 + 11 * MINUTE + ON_TIME_MS - 1;
    assert.deepEqual(planFiring(minutely('none'), now).occurrences, [T0 + 11 * MINUTE]);
    assert.equal(planFiring(minutely('all'), now).occurrences.length, 11);

    const hourly = { ...minutely('none', T0 + HOUR), cron: '0 * * * *' };
    const down = T0 + 5 * HOUR + 2 * MINUTE; // missed 01:00 .. 05:00, the latest 2 min late
    assert.deepEqual(planFiring(hourly, down), { occurrences: [], nextFireAt: T0 + 6 * HOUR });
    assert.deepEqual(planFiring({ ...hourly, catchup: 'last' }, down).occurrences, [T0 + 5 * HOUR]);
    assert.deepEqual(
      planFiring({ ...hourly, catchup: 'all' }, down).occurrences,
      [1, 2, 3, 4, 5].map((h) => T0 + h * HOUR),
    );
  });

  it('all keeps the latest MAX_CATCHUP occurrences, oldest first', () => {
    const week = planFiring(
      { cron: '* * * * * *', timezone: 'UTC', catchup: 'all', nextFireAt: T0 + 1000 },
      T0 + 7 * 24 * HOUR,
    );
    assert.equal(week.occurrences.length, MAX_CATCHUP);
    assert.equal(week.occurrences[0], T0 + 7 * 24 * HOUR - (MAX_CATCHUP - 1) * 1000);
    assert.equal(week.occurrences.at(-1), T0 + 7 * 24 * HOUR);
    assert.equal(week.nextFireAt, T0 + 7 * 24 * HOUR + 1000);
  });

  it('follows the zone across a DST change', () => {
    // 02:30 every day in Paris; 2030-03-31 has no 02:30 (clocks jump 02:00 -> 03:00)
    const beforeChange = Date.UTC(2030, 2, 30, 1, 30); // 02:30 CET
    const plan = planFiring(
      { cron: '30 2 * * *', timezone: 'Europe/Paris', catchup: 'all', nextFireAt: beforeChange },
      beforeChange,
    );
    assert.deepEqual(plan.occurrences, [beforeChange]);
    assert.ok(plan.nextFireAt !== null && plan.nextFireAt > beforeChange);
    assert.equal((plan.nextFireAt - beforeChange) % MINUTE, 0);
  });

  it('a pattern croner no longer accepts fires nothing and says why', () => {
    const plan = planFiring({ ...minutely('all'), cron: 'not a pattern' }, T0 + HOUR);
    assert.deepEqual(plan.occurrences, []);
    assert.equal(plan.nextFireAt, null);
    assert.match(plan.error ?? '', /space separated parts/);
  });
});

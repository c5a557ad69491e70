import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { uuid7 } from '../../src/common/uuid7.ts';

describe('uuid7', () => {
  it('is an RFC 9562 version 7 UUID whose first 48 bits are the milliseconds', () => {
    const now = Date.UTC(2026, 11, 7, 23, 0, 0, 123);
    const id = uuid7(now);
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16), now);
  });

  it('sorts by time across milliseconds, and never repeats', () => {
    const ids = Array.from({ length: 2000 }, (_, i) =>
      uuid7(1_800_000_000_000 + Math.floor(i / 10)),
    );
    for (let i = 10; i < ids.length; i += 10)
      assert.ok(ids[i - 1] < ids[i], `${ids[i - 1]} < ${ids[i]}`);
    assert.equal(new Set(ids).size, ids.length);
    assert.equal(new Set(Array.from({ length: 1000 }, () => uuid7())).size, 1000);
  });
});

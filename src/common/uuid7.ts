/**
 * UUID version 7 (RFC 9562 §5.7): 48 bits of Unix milliseconds, then 74 random bits. Ids made
 * one after another sort in time order, so rows keyed by them are appended where the B-tree
 * was last written instead of scattered over the whole index: the pages a busy store touches
 * stay few and in cache however many rows it holds. Within one millisecond the order is
 * random (no counter): that is enough for locality, and nothing may rely on id order.
 */
import { randomFillSync } from 'node:crypto';

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
/** random bytes drawn 256 ids at a time: one call into the CSPRNG instead of one per id */
const pool = new Uint8Array(16 * 256);
let next = pool.length;

export function uuid7(now: number = Date.now()): string {
  if (next === pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  const b = pool.subarray(next, next + 16);
  next += 16;
  // 48-bit big-endian milliseconds (beyond 32 bits: divide, as bitwise operators are 32-bit)
  const high = Math.floor(now / 2 ** 32);
  const low = now >>> 0;
  b[0] = (high >>> 8) & 0xff;
  b[1] = high & 0xff;
  b[2] = low >>> 24;
  b[3] = (low >>> 16) & 0xff;
  b[4] = (low >>> 8) & 0xff;
  b[5] = low & 0xff;
  b[6] = 0x70 | (b[6] & 0x0f); // version 7
  b[8] = 0x80 | (b[8] & 0x3f); // variant 10
  let id = '';
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) id += '-';
    id += HEX[b[i]];
  }
  return id;
}

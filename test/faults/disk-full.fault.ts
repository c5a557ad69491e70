/**
 * Disk full under SQLite (`npm run test:faults`): see disk-full.ts. Twice: on a small tmpfs
 * (when this process may mount one) and with a file-size cap (prlimit), each with submissions
 * arriving 8 at a time while the disk is full and runs still in flight.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { suiteScale } from '../support/processes.ts';
import { diskFull } from './disk-full.ts';

const submissions = suiteScale() === 'full' ? 80 : 16;

for (const mode of ['auto', 'prlimit'] as const) {
  it(`disk full (${mode === 'auto' ? 'tmpfs if possible' : 'file-size cap'}): ${submissions} submissions refused or stored, then recovery`, async (t) => {
    const report = await diskFull(t, {
      submissions,
      documentKiB: 256,
      diskMiB: 16,
      concurrency: 8,
      mode,
    });
    console.log(JSON.stringify({ fault: 'disk_full', ...report }));
    assert.ok(report.refused_while_full > 0);
  });
}

/**
 * Short version of the split-brain fault (split-brain.ts) for `npm test`: the replica that
 * drives a run is frozen with SIGSTOP until the other took the run over, then thawed, twice
 * (each replica frozen once). `npm run test:faults` runs more rounds (split-brain.fault.ts).
 */
import { it } from 'node:test';
import { splitBrain } from './split-brain.ts';

it('SIGSTOP of the owning replica past its lease, then SIGCONT: no stale write lands (2 rounds)', async (t) => {
  const report = await splitBrain(t, { rounds: 2, nodes: 48, leaseMs: 1500 });
  t.diagnostic(JSON.stringify(report));
});

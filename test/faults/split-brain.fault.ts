/**
 * The split-brain fault (split-brain.ts) for `npm run test:faults`: the replica that drives
 * a run is frozen with SIGSTOP until the other took the run over and made progress, then
 * thawed; 8 rounds (3 with BATON_SUITE_SCALE=short), alternating the frozen replica, the
 * default lease of 5 s as in production. Every task runs once, every node ends final, and
 * the run's state agrees with its nodes', whichever interleaving the round hit.
 */
import { it } from 'node:test';
import { suiteScale } from '../support/processes.ts';
import { splitBrain } from './split-brain.ts';

const rounds = suiteScale() === 'full' ? 8 : 3;

it(`SIGSTOP of the owning replica past its lease, then SIGCONT (${rounds} rounds)`, async (t) => {
  const report = await splitBrain(t, { rounds, nodes: 96, leaseMs: 5000 });
  t.diagnostic(JSON.stringify(report));
});

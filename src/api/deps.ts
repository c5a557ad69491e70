/** What the API plugins are given: the orchestrator's public face, nothing of executors. */

import type { Limits } from '../graph/parse.ts';
import type { EventBus } from '../orchestrator/bus.ts';
import type { Orchestrator } from '../orchestrator/orchestrator.ts';
import type { Store } from '../store/store.ts';
import type { CommitHealth } from './commit-health.ts';

/** Cancel and retry from any replica: done here, or by the replica that drives the run. */
export interface RunControl {
  cancel(id: string): Promise<void>;
  retry(id: string): Promise<void>;
}

export interface ApiDeps {
  orchestrator: Orchestrator;
  control: RunControl;
  store: Store;
  bus: EventBus;
  limits: Partial<Limits>;
  /** the outcome of the store's commits, for /healthz; absent: judged by a read alone */
  commits?: CommitHealth;
}

/** What the API plugins are given: the orchestrator's public face, nothing of executors. */
import type { Limits } from '../graph/parse.ts';
import type { EventBus } from '../orchestrator/bus.ts';
import type { Orchestrator } from '../orchestrator/orchestrator.ts';
import type { Store } from '../store/store.ts';

export interface ApiDeps {
  orchestrator: Orchestrator;
  store: Store;
  bus: EventBus;
  limits: Partial<Limits>;
}

/**
 * Clock jumps (`npm run test:faults`): an in-process orchestrator whose wall clock jumps
 * forward and backward by an hour, mid-attempt, before a retry and across a restart. See
 * clock.ts for what is and is not testable.
 */
import { describe, it } from 'node:test';
import {
  backwardJumpMidAttempt,
  forwardJumpMidAttempt,
  resumeAfterBackwardJumpGraph,
  resumeAfterBackwardJumpNode,
  resumeAfterForwardJump,
  retryAfterBackwardJump,
} from './clock.ts';

describe('clock jumps', () => {
  it(
    '+1 h while a node runs: neither its timeout nor the graph timeout fires',
    forwardJumpMidAttempt,
  );
  it('-1 h while nodes run: node and graph timeouts still fire on time', backwardJumpMidAttempt);
  it('-1 h before a retry: the new attempt has a new idempotency key', retryAfterBackwardJump);
  it('+1 h across a restart: the resumed node times out at once', resumeAfterForwardJump);
  it(
    '-1 h across a restart: a resumed node still times out within its 1 s',
    resumeAfterBackwardJumpNode,
  );
  it(
    '-1 h across a restart: a resumed run still times out within its graph timeout of 1 s',
    resumeAfterBackwardJumpGraph,
  );
});

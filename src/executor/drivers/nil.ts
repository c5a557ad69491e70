/** `nil`: succeeds at once; a placeholder node (a TOSCA template without operations). */
import type { Driver } from '../types.ts';

export const nilDriver: Driver = {
  run: async () => ({ ok: true, output: {}, exitCode: null, error: null }),
};

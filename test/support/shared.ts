/**
 * The project's shared/ folder (gorchestrator's example, the TOSCA templates): beside the
 * checkout, as sessions and CI lay it out, else /work/shared. Tests read it in place and fail
 * (never skip) when it is missing.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const candidates = [fileURLToPath(new URL('../../../shared/', import.meta.url)), '/work/shared/'];

export function sharedDir(): string {
  const found = candidates.find((dir) => existsSync(dir));
  if (!found) throw new Error(`shared/ not found (looked in ${candidates.join(', ')})`);
  return found;
}

/** Every public error code is documented, and documented codes exist. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { Errors } from '../../src/api/errors.ts';

it('docs/api-errors.md lists exactly the codes of the catalogue, with their status', () => {
  const doc = readFileSync(new URL('../../docs/api-errors.md', import.meta.url), 'utf8');
  const documented = new Map(
    [...doc.matchAll(/^\| `(BATON_ERR_\w+)` \| (\d{3}) \|/gm)].map((m) => [m[1], Number(m[2])]),
  );
  const catalogue = new Map(
    Object.values(Errors).map((E) => {
      const e = new E('x', 'y');
      return [e.code, e.statusCode];
    }),
  );
  assert.deepEqual(documented, catalogue);
});

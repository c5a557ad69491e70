/**
 * `npm run bench`: every benchmark, one JSON object of figures on stdout. Benchmarks measure;
 * they never fail a build. docs/performance.md records the figures and their targets.
 */
import { cpus } from 'node:os';
import { benchEngine } from './engine.ts';
import { benchExecutor } from './executor.ts';
import { benchParse } from './parse.ts';
import { benchService } from './service.ts';
import { benchSubmit } from './submit.ts';
import { benchUi } from './ui.ts';

const only = process.argv.slice(2);
const suites: Record<string, () => Promise<Record<string, number | string>>> = {
  parse: benchParse,
  engine: benchEngine,
  service: benchService,
  executor: benchExecutor,
  submit: benchSubmit,
  ui: benchUi,
};

const figures: Record<string, unknown> = {
  node: process.version,
  cpus: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`,
  date: new Date().toISOString(),
};
for (const [name, bench] of Object.entries(suites)) {
  if (only.length > 0 && !only.includes(name)) continue;
  process.stderr.write(`bench ${name}...\n`);
  Object.assign(figures, await bench());
}
console.log(JSON.stringify(figures, null, 2));

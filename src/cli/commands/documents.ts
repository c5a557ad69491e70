/**
 * Commands on local files, no server needed: `validate`, `dot`, `mermaid`, and `tosca`
 * (TOSCA service template -> gorch document, docs/architecture.md §8).
 */
import type { Command } from 'commander';
import { toDot, toMermaid } from '../../graph/export.ts';
import type { Graph } from '../../graph/model.ts';
import { EXECUTOR_ENGINES } from '../../orchestrator/executor-runner.ts';
import { readGraph } from '../documents.ts';
import { render, terminalSafe } from '../output.ts';
import { type ConfigFlags, collect, config, examples, outputOption, withConfig } from './common.ts';

export function registerDocumentCommands(cli: Command): void {
  examples(
    withConfig(
      cli
        .command('validate')
        .description('check a gorch document without running it (exit 2 and the field if bad)')
        .argument('<file>', 'gorch document (JSON or YAML)'),
    ),
    'baton validate examples/gorch-example.json',
  ).action(async (file: string, flags: ConfigFlags) => {
    config(flags);
    const graph = await readGraph(file);
    process.stdout.write(
      `${file}: valid, ${graph.nodes.length} nodes, ${graph.succ.length} edges\n`,
    );
    for (const warning of executorWarnings(graph)) process.stderr.write(`${file}: ${warning}\n`);
  });

  for (const [name, render, what] of [
    ['dot', toDot, 'Graphviz DOT'],
    ['mermaid', toMermaid, 'a Mermaid flowchart'],
  ] as const) {
    examples(
      withConfig(
        cli
          .command(name)
          .description(`print the graph of a document as ${what}`)
          .argument('<file>', 'gorch document (JSON or YAML)'),
      ),
      name === 'dot'
        ? 'baton dot examples/gorch-example.json | dot -Tsvg > graph.svg'
        : 'baton mermaid examples/gorch-example.json > graph.mmd',
      `baton show RUN_ID -o ${name}   # the same, coloured by the live states of a run`,
    ).action(async (file: string, flags: ConfigFlags) => {
      config(flags);
      process.stdout.write(render(await readGraph(file)));
    });
  }

  examples(
    withConfig(
      cli
        .command('tosca')
        .description(
          'convert a TOSCA Simple Profile service template into a gorch document (on stdout)',
        )
        .argument('<template>', 'service template (YAML); imports resolve relative to it')
        .option('--input <key=value>', 'a topology input (repeatable)', collect)
        .option('--ops <list>', 'lifecycle operations to run', 'create,configure,start')
        .addOption(outputOption(['json', 'yaml'], 'json')),
    ),
    'baton tosca app.yaml --input db_port=3306 > app.json && baton run app.json --watch',
    'baton tosca app.yaml --ops stop,delete | baton dot /dev/stdin',
  ).action(
    async (
      template: string,
      flags: ConfigFlags & { input?: string[]; ops: string; output: string },
    ) => {
      config(flags);
      const { convertTosca, parseInputOptions, parseOpsOption } = await import(
        '../../tosca/index.ts'
      );
      const document = convertTosca(template, {
        inputs: parseInputOptions(flags.input ?? []),
        ops: parseOpsOption(flags.ops),
      });
      process.stdout.write(render(flags.output, document, () => ''));
    },
  );
}

/**
 * One warning per engine that only executors run: a `baton serve` started without
 * `--executor` accepts such nodes and fails them at dispatch (docs/architecture.md §4).
 */
export function executorWarnings(graph: Graph): string[] {
  const onExecutors = new Set<string>(EXECUTOR_ENGINES);
  const byEngine = new Map<string, string[]>();
  for (const node of graph.nodes) {
    if (!onExecutors.has(node.engine)) continue;
    const names = byEngine.get(node.engine);
    if (names === undefined) byEngine.set(node.engine, [node.name]);
    else names.push(node.name);
  }
  return [...byEngine].map(([engine, names]) => {
    const shown = names.slice(0, 5).map((name) => JSON.stringify(terminalSafe(name)));
    const more = names.length > shown.length ? ` and ${names.length - shown.length} more` : '';
    const count = names.length === 1 ? '1 node uses' : `${names.length} nodes use`;
    return (
      `warning: ${count} engine ${engine} (${shown.join(', ')}${more}), which only an ` +
      `executor runs: a server with no executor offering ${engine} fails them at dispatch ` +
      '(start one with baton executor and pass --executor to baton serve)'
    );
  });
}

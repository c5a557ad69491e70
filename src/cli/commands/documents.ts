/**
 * Commands on local files, no server needed: `validate`, `dot`, `mermaid`, and `tosca`
 * (TOSCA service template -> gorch document, docs/architecture.md §8).
 */
import type { Command } from 'commander';
import { toDot, toMermaid } from '../../graph/export.ts';
import { readGraph } from '../documents.ts';
import { render } from '../output.ts';
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

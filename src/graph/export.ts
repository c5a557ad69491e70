/**
 * A graph as Graphviz DOT or a Mermaid flowchart, left to right, each node labelled with its
 * name and engine; with per-node state codes, nodes are filled with the state's colour
 * (`STATE_COLOURS`, shared with the UI and the CLI). Both walk the CSR rows once: O(V+E).
 */
import type { Graph } from './model.ts';
import { State, type StateName } from './states.ts';

/** Fill colour per state, gorchestrator's scheme. */
export const STATE_COLOURS: Readonly<Record<StateName, string>> = Object.freeze({
  initial: '#d3d3d3', // grey
  torun: '#4a90d9', // blue
  running: '#a6d8f7', // light blue
  success: '#5cb85c', // green
  failure: '#d9534f', // red
  notrunnable: '#f0ad4e', // orange
  timeout: '#9b6fcf', // purple
  canceled: '#616161', // dark grey
});

/** Black or white, whichever reads better on `fill` (a `#rrggbb` colour). */
export function textColourOn(fill: string): '#000000' | '#ffffff' {
  const channel = (offset: number): number => {
    const c = Number.parseInt(fill.slice(offset, offset + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const luminance = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
  // contrast against black (L+0.05)/0.05 vs against white 1.05/(L+0.05)
  return (luminance + 0.05) ** 2 >= 0.0525 ? '#000000' : '#ffffff';
}

const stateNames = new Map<number, StateName>(
  (Object.entries(State) as [StateName, number][]).map(([name, code]) => [code, name]),
);

function stateOf(states: ArrayLike<number> | undefined, id: number): StateName | undefined {
  return states === undefined ? undefined : stateNames.get(states[id]);
}

/** A DOT double-quoted string: `\` and `"` escaped, line breaks as `\n`, controls dropped. */
export function dotString(text: string): string {
  const escaped = text
    .replace(/[\\"]/g, '\\$&')
    .replace(/\r\n|\r|\n/g, '\\n')
    // biome-ignore lint/suspicious/noControlCharactersInRegex: replacing control characters
    .replace(/[\u0000-\u001f\u007f]/g, ' ');
  return `"${escaped}"`;
}

export function toDot(graph: Graph, states?: ArrayLike<number>): string {
  const lines: string[] = [
    `digraph ${dotString(graph.name)} {`,
    '  rankdir=LR;',
    '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Helvetica"];',
  ];
  for (const node of graph.nodes) {
    let attributes = `label=${dotString(`${node.name}\n${node.engine}`)}`;
    const state = stateOf(states, node.id);
    if (state !== undefined) {
      const fill = STATE_COLOURS[state];
      attributes += `, fillcolor="${fill}", fontcolor="${textColourOn(fill)}", tooltip="${state}"`;
    }
    lines.push(`  n${node.id} [${attributes}];`);
  }
  const { succStart, succ } = graph;
  for (let i = 0; i < graph.nodes.length; i++) {
    for (let p = succStart[i]; p < succStart[i + 1]; p++) lines.push(`  n${i} -> n${succ[p]};`);
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

/**
 * Mermaid entity codes (`#35;`) for every character that could end the quoted label or be
 * read as markup or as the start of an entity; line breaks as `<br/>`. `:` and `;` are
 * encoded too, because Mermaid rewrites lines that look like `style …:…#…;` before parsing.
 */
export function mermaidLabel(text: string): string {
  const escaped = text
    .replace(/["#&<>`:;]/g, (c) => `#${c.charCodeAt(0)};`)
    .replace(/\r\n|\r|\n/g, '<br/>')
    // biome-ignore lint/suspicious/noControlCharactersInRegex: replacing control characters
    .replace(/[\u0000-\u001f\u007f]/g, ' ');
  return `"${escaped}"`;
}

export function toMermaid(graph: Graph, states?: ArrayLike<number>): string {
  const lines: string[] = [];
  if (graph.name !== '') lines.push('---', `title: ${JSON.stringify(graph.name)}`, '---');
  lines.push('flowchart LR');
  const byState = new Map<StateName, number[]>();
  for (const node of graph.nodes) {
    lines.push(`  n${node.id}[${mermaidLabel(`${node.name}\n${node.engine}`)}]`);
    const state = stateOf(states, node.id);
    if (state === undefined) continue;
    let ids = byState.get(state);
    if (ids === undefined) {
      ids = [];
      byState.set(state, ids);
    }
    ids.push(node.id);
  }
  const { succStart, succ } = graph;
  for (let i = 0; i < graph.nodes.length; i++) {
    for (let p = succStart[i]; p < succStart[i + 1]; p++) lines.push(`  n${i} --> n${succ[p]}`);
  }
  for (const [state, ids] of byState) {
    const fill = STATE_COLOURS[state];
    lines.push(`  classDef ${state} fill:${fill},color:${textColourOn(fill)},stroke:#333333`);
    lines.push(`  class ${ids.map((id) => `n${id}`).join(',')} ${state}`);
  }
  return `${lines.join('\n')}\n`;
}

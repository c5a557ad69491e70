/** Reading gorch documents from files for the CLI: JSON, or YAML by extension. */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { DocumentError } from '../graph/errors.ts';
import type { Graph } from '../graph/model.ts';

export class UsageError extends Error {}

export function readDocumentText(file: string): string {
  try {
    const text = readFileSync(file, 'utf8');
    return /\.ya?ml$/i.test(file) ? JSON.stringify(parseYaml(text)) : text;
  } catch (err) {
    throw new UsageError(`${file}: ${(err as Error).message}`);
  }
}

/**
 * Parses and validates a document file; DocumentErrors get the file name in front. The parser
 * (and its schema library, some 700 modules) is loaded here, on first use, so that commands
 * which never parse a document (list, show, --help...) start in half the time.
 */
export async function readGraph(file: string, engines?: ReadonlySet<string>): Promise<Graph> {
  const text = readDocumentText(file);
  const { parseDocumentText } = await import('../graph/parse.ts');
  try {
    return engines ? parseDocumentText(text, { engines }) : parseDocumentText(text);
  } catch (err) {
    if (err instanceof DocumentError) err.message = `${file}: ${err.message}`;
    throw err;
  }
}

/**
 * `baton token create|list|revoke`: the API's bearer tokens (src/api/auth.ts). A token is
 * shown once, when it is made; the tokens file keeps only its name and SHA-256, so the file
 * is no secret worth stealing. With a tokens file (--tokens, BATON_TOKENS_FILE or the
 * configuration's auth.tokens_file) the commands edit it in place (comments of a YAML file
 * are kept; it is replaced atomically, which a running `baton serve` sees and reloads);
 * without one, `create` prints the line to add by hand.
 */
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { isSeq, parseDocument as parseYamlDocument, YAMLSeq } from 'yaml';
import type { TokenEntry } from '../../api/auth.ts';
import { UsageError } from '../documents.ts';
import { type ConfigFlags, config, examples, withConfig } from './common.ts';

interface TokenFlags extends ConfigFlags {
  tokens?: string;
}

/** The tokens file the flags or the configuration name, if any. */
function tokensFileOf(flags: TokenFlags): string | undefined {
  return flags.tokens ?? config(flags).tokensFile;
}

async function auth() {
  return import('../../api/auth.ts');
}

/** Replaces the file by a new one written beside it, keeping its permissions. */
function replaceFile(file: string, text: string): void {
  const mode = existsSync(file) ? statSync(file).mode & 0o777 : 0o600;
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, text, { mode });
  renameSync(temporary, file);
}

const YAML_HEADER =
  '# Baton API tokens: the name and SHA-256 of each (`baton token create NAME --tokens FILE`).\n';

type Change = { add: TokenEntry } | { remove: string };

/**
 * Adds or removes one entry of the tokens file, after checking the whole file: JSON for
 * .json, else YAML edited as a document so its comments stay.
 */
async function changeTokens(file: string, change: Change): Promise<void> {
  const { readTokensFile } = await auth();
  const exists = existsSync(file);
  const entries = exists ? readTokensFile(file) : [];
  const name = 'add' in change ? change.add.name : change.remove;
  const index = entries.findIndex((entry) => entry.name === name);
  if ('add' in change && index >= 0) {
    throw new UsageError(
      `${file}: a token named "${name}" exists; revoke it first or choose another name`,
    );
  }
  if ('remove' in change && index < 0) throw new UsageError(`${file}: no token named "${name}"`);

  if (/\.json$/i.test(file)) {
    const next = 'add' in change ? [...entries, change.add] : entries.filter((_, i) => i !== index);
    replaceFile(file, `${JSON.stringify(next, null, 2)}\n`);
    return;
  }
  const doc = parseYamlDocument(exists ? readFileSync(file, 'utf8') : YAML_HEADER);
  // an empty file has no list yet (readTokensFile accepted it as an empty one)
  if (!isSeq(doc.contents)) doc.contents = new YAMLSeq() as typeof doc.contents;
  const list = doc.contents as YAMLSeq;
  if ('add' in change) {
    const entry = doc.createNode({ name, sha256: change.add.sha256 });
    entry.flow = true;
    list.items.push(entry);
  } else {
    list.items.splice(index, 1);
  }
  replaceFile(file, doc.toString({ lineWidth: 0 }));
}

export function registerTokenCommands(cli: Command): void {
  const token = examples(
    withConfig(
      cli
        .command('token')
        .description('make, list and revoke the bearer tokens of the orchestrator API')
        .option(
          '--tokens <file>',
          'the tokens file to edit (env BATON_TOKENS_FILE, config auth.tokens_file)',
        )
        .configureHelp({ showGlobalOptions: true }),
    ),
    'baton token create ci --tokens tokens.yaml   # prints the token once; serve reloads the file',
    'baton token create alice                     # prints the token and the line to add by hand',
    'baton token list --tokens tokens.yaml',
    'baton token revoke ci --tokens tokens.yaml',
  );

  token
    .command('create')
    .description('make a random token; print it once, and add its SHA-256 to the tokens file')
    .argument('<name>', 'who the token is for: logged as the principal of its requests')
    .action(async (name: string, _flags: unknown, command: Command) => {
      const flags = command.optsWithGlobals<TokenFlags>();
      const { hashToken, newToken, TOKEN_NAME } = await auth();
      if (!TOKEN_NAME.test(name)) {
        throw new UsageError(
          `token create: expected a name of letters, digits and _ . @ : + - (at most 100), got "${name}"`,
        );
      }
      const secret = newToken();
      const entry = { name, sha256: hashToken(secret) };
      const file = tokensFileOf(flags);
      if (file !== undefined) await changeTokens(file, { add: entry });
      process.stdout.write(`${secret}\n`);
      process.stderr.write(
        file === undefined
          ? 'This token is shown only once. Add this line to the tokens file of `baton serve --tokens FILE`:\n' +
              `- {name: ${name}, sha256: ${entry.sha256}}\n`
          : `Token "${name}" added to ${file} (a running server reloads it). It is shown only once.\n`,
      );
    });

  token
    .command('list')
    .description('the names of the tokens in the tokens file')
    .action(async (_flags: unknown, command: Command) => {
      const file = requireFile(command.optsWithGlobals<TokenFlags>());
      const { readTokensFile } = await auth();
      for (const entry of readTokensFile(file)) {
        process.stdout.write(`${entry.name}\t${entry.sha256.slice(0, 12)}…\n`);
      }
    });

  token
    .command('revoke')
    .description('remove a token from the tokens file (a running server reloads it)')
    .argument('<name>', 'the name the token was created with')
    .action(async (name: string, _flags: unknown, command: Command) => {
      const file = requireFile(command.optsWithGlobals<TokenFlags>());
      await changeTokens(file, { remove: name });
      process.stderr.write(`Token "${name}" removed from ${file}.\n`);
    });
}

function requireFile(flags: TokenFlags): string {
  const file = tokensFileOf(flags);
  if (file === undefined) {
    throw new UsageError(
      'token: pass --tokens FILE (or set BATON_TOKENS_FILE, or auth.tokens_file in --config)',
    );
  }
  return file;
}

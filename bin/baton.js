#!/usr/bin/env node
// Entry point of the `baton` command. Baton's TypeScript runs natively on Node.js 24, which
// the project pins as a dependency: `npx baton` and npm scripts use it even where the
// system Node is older.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(
    `baton needs Node.js 24 or newer (this is ${process.version}); ` +
      'run it as `npx baton ...` from the project, which uses the pinned Node.js 24.\n',
  );
  process.exit(2);
}
const { main } = await import('../src/cli/main.ts');
await main(process.argv);

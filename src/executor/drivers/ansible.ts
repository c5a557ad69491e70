/**
 * `ansible`: runs `ansible-playbook` with the artifact as the playbook against the single
 * host `target` (`-i 'target,'`; `localhost`/`local` run with `-c local`, other targets go
 * through ssh with the executor's ssh config). Args `k=v` become extra vars, written to a
 * JSON file and passed as `-e @file` so no value is ever re-parsed by ansible's k=v syntax.
 *
 * Outputs: a playbook sets an output by printing it, e.g.
 *     - ansible.builtin.debug: msg="ip={{ ansible_default_ipv4.address }}"
 * which ansible prints as `"msg": "ip=10.0.0.5"`; such lines and plain `KEY=VALUE` lines
 * (from a `command` task's output, for instance) fill the declared outputs.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ArtifactError, resolveArtifact } from '../artifacts.ts';
import { type LineParser, parseKeyValue } from '../outputs.ts';
import { allowedEnv } from '../task-env.ts';
import type { Driver, TaskContext, TaskResult } from '../types.ts';
import { runProcess } from './process.ts';
import { refused } from './shell.ts';
import { shellQuote } from './ssh.ts';

/** ANSIBLE_* of the executor's environment, which ansible-playbook gets beside task-env.ts's. */
const ansibleSettings = allowedEnv(process.env, ['ANSIBLE_*']);

const LOCAL_TARGETS = new Set(['localhost', 'local', '127.0.0.1']);
const DEBUG_MSG = /^\s*"msg":\s*("(?:[^"\\]|\\.)*")\s*,?$/;

export const parseAnsibleLine: LineParser = (line) => {
  const m = DEBUG_MSG.exec(line);
  return parseKeyValue(m ? (JSON.parse(m[1]) as string) : line);
};

export const ansibleDriver: Driver = {
  async run(task: TaskContext): Promise<TaskResult> {
    let playbook: string;
    try {
      playbook = resolveArtifact(task.artifactRoot, task.node.artifact);
    } catch (err) {
      if (err instanceof ArtifactError) return refused(err);
      throw err;
    }
    const extraVars: Record<string, string> = {};
    for (const [i, arg] of task.node.args.entries()) {
      const eq = arg.indexOf('=');
      if (eq <= 0) {
        return refused(
          new Error(`ansible: args[${i}] must be KEY=VALUE, got ${JSON.stringify(arg)}`),
        );
      }
      extraVars[arg.slice(0, eq)] = arg.slice(eq + 1);
    }
    const target = task.node.target;
    const dir = await mkdtemp(path.join(os.tmpdir(), 'baton-ansible-'));
    try {
      const varsFile = path.join(dir, 'extra-vars.json');
      await writeFile(varsFile, JSON.stringify(extraVars), { mode: 0o600 });
      const args = ['-i', `${target},`, '-e', `@${varsFile}`];
      if (LOCAL_TARGETS.has(target)) args.push('-c', 'local');
      else if (task.sshConfig !== undefined)
        args.push(`--ssh-common-args=-F ${shellQuote(task.sshConfig)}`);
      args.push(playbook);
      return await runProcess(task, {
        command: 'ansible-playbook',
        args,
        cwd: task.artifactRoot,
        env: {
          ...task.env,
          // the operator's ansible settings (ANSIBLE_CONFIG, ...) are the tool's, not secrets
          ...ansibleSettings,
          ANSIBLE_HOST_KEY_CHECKING: 'False',
          ANSIBLE_NOCOLOR: '1',
          ANSIBLE_FORCE_COLOR: '0',
          ANSIBLE_RETRY_FILES_ENABLED: 'False',
          ANSIBLE_PYTHON_INTERPRETER: 'auto_silent',
          // keep ansible's own temp files with the task's, removed afterwards
          ANSIBLE_LOCAL_TEMP: dir,
        },
        parse: parseAnsibleLine,
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};

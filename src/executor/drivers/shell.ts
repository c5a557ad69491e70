/**
 * `shell`: runs the artifact itself with the node's args as its argv. No shell is involved,
 * so arguments reach the program byte for byte whatever they contain.
 */
import { ArtifactError, resolveArtifact } from '../artifacts.ts';
import type { Driver, TaskContext, TaskResult } from '../types.ts';
import { runProcess } from './process.ts';

export const shellDriver: Driver = {
  async run(task: TaskContext): Promise<TaskResult> {
    let program: string;
    try {
      program = resolveArtifact(task.artifactRoot, task.node.artifact);
    } catch (err) {
      if (err instanceof ArtifactError) return refused(err);
      throw err;
    }
    return runProcess(task, { command: program, args: task.node.args, cwd: task.artifactRoot });
  },
};

export function refused(err: Error): TaskResult {
  return { ok: false, output: {}, exitCode: null, error: err.message };
}

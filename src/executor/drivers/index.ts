/** The engines an executor runs (docs/architecture.md §6), by the name a node's `engine` field uses. */
import type { Driver } from '../types.ts';
import { ansibleDriver } from './ansible.ts';
import { httpDriver } from './http.ts';
import { nilDriver } from './nil.ts';
import { shellDriver } from './shell.ts';
import { sleepDriver } from './sleep.ts';
import { sshDriver } from './ssh.ts';
import { toscasshDriver } from './toscassh.ts';

export const drivers: ReadonlyMap<string, Driver> = new Map([
  ['nil', nilDriver],
  ['sleep', sleepDriver],
  ['shell', shellDriver],
  ['ssh', sshDriver],
  ['toscassh', toscasshDriver],
  ['ansible', ansibleDriver],
  ['http', httpDriver],
]);

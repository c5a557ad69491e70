/**
 * `http`: calls the URL in `artifact`. Args: `method=POST` (default GET), `body=...`, and
 * `header=Name: value` (repeatable). A 2xx answer succeeds and its JSON body's top-level
 * keys that are declared outputs fill them (non-string values as JSON text); any other
 * status fails with the status and the start of the body. The answer goes to the task log,
 * bounded like every log; bodies over 1 MiB are not parsed for outputs.
 *
 * Only hosts of the executor's allowlist are called, never link-local or metadata addresses
 * (http-allow.ts); redirects are followed by hand so that every hop is checked too.
 */
import { fetch, Headers, type Response as UndiciResponse } from 'undici';
import { forbiddenAddress, forbiddenName, normalHost, refusedAddress } from '../http-allow.ts';
import type { Driver, TaskContext, TaskResult } from '../types.ts';

const MAX_PARSED_BODY = 1024 * 1024;
const SNIPPET = 300;
const MAX_REDIRECTS = 10;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** Why the engine may not call `url`, or undefined when it may. */
function refusal(url: URL, task: TaskContext): string | undefined {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return `http: only http and https URLs are allowed, got ${url.protocol}`;
  }
  const host = normalHost(url.hostname);
  if (forbiddenAddress(host) || forbiddenName(host)) return refusedAddress(host, host);
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
  if (!task.http.allowlist.allows(host, port)) {
    const shown = url.port === '' ? host : `${url.hostname}:${url.port}`;
    return `http engine: host ${shown} is not in the executor's allowlist (--http-allow)`;
  }
  return undefined;
}

export const httpDriver: Driver = {
  async run(task: TaskContext): Promise<TaskResult> {
    const fail = (error: string): TaskResult => ({ ok: false, output: {}, exitCode: null, error });
    let url: URL;
    try {
      url = new URL(task.node.artifact);
    } catch {
      return fail(
        `http: artifact must be an absolute http(s) URL, got ${JSON.stringify(task.node.artifact)}`,
      );
    }
    const refused = refusal(url, task);
    if (refused !== undefined) return fail(refused);
    let method = 'GET';
    let body: string | undefined;
    const headers = new Headers();
    for (const [i, arg] of task.node.args.entries()) {
      const eq = arg.indexOf('=');
      const key = arg.slice(0, eq);
      const value = arg.slice(eq + 1);
      if (key === 'method') method = value.toUpperCase();
      else if (key === 'body') body = value;
      else if (key === 'header' && value.includes(':')) {
        const colon = value.indexOf(':');
        headers.append(value.slice(0, colon).trim(), value.slice(colon + 1).trim());
      } else {
        return fail(
          `http: args[${i}] must be method=..., body=... or header=Name: value, got ${JSON.stringify(arg)}`,
        );
      }
    }
    if (body !== undefined && !headers.has('content-type')) {
      headers.set('content-type', looksLikeJson(body) ? 'application/json' : 'text/plain');
    }

    let status: number;
    let statusText: string;
    let text: string;
    try {
      let res = await fetch(url, {
        method,
        headers,
        body,
        signal: task.signal,
        redirect: 'manual',
        dispatcher: task.http.dispatcher,
      });
      for (let hops = 0; REDIRECTS.has(res.status); hops++) {
        const location = res.headers.get('location');
        if (location === null) break;
        await res.body?.cancel();
        if (hops === MAX_REDIRECTS) return fail(`http ${method} ${url.href}: too many redirects`);
        const next = new URL(location, url);
        const refused = refusal(next, task);
        if (refused !== undefined)
          return fail(`http ${method} ${url.href}: redirected: ${refused}`);
        // as browsers do: 303, and 301/302 after a POST, go on with a GET without the body
        if (
          res.status === 303 ||
          ((res.status === 301 || res.status === 302) && method === 'POST')
        ) {
          method = 'GET';
          body = undefined;
          headers.delete('content-type');
        }
        url = next;
        res = await fetch(url, {
          method,
          headers,
          body,
          signal: task.signal,
          redirect: 'manual',
          dispatcher: task.http.dispatcher,
        });
      }
      status = res.status;
      statusText = res.statusText;
      text = await readBounded(res, task);
    } catch (err) {
      if (task.signal.aborted) return fail(`http ${method} ${url.href}: request aborted`);
      const cause = (err as { cause?: Error }).cause;
      return fail(`http ${method} ${url.href}: ${cause?.message ?? (err as Error).message}`);
    }
    if (status < 200 || status > 299) {
      const snippet = text.length > SNIPPET ? `${text.slice(0, SNIPPET)}...` : text;
      return fail(
        `http ${method} ${url.href}: ${status} ${statusText}${snippet ? `: ${snippet}` : ''}`,
      );
    }
    return { ok: true, output: outputsFrom(text, task), exitCode: null, error: null };
  },
};

/** Reads the body into the task log; returns at most MAX_PARSED_BODY characters of it. */
async function readBounded(res: UndiciResponse, task: TaskContext): Promise<string> {
  if (res.body === null) return '';
  const kept: Buffer[] = [];
  let keptBytes = 0;
  for await (const chunk of res.body) {
    const bytes = Buffer.from(chunk);
    task.log.write(bytes);
    if (keptBytes <= MAX_PARSED_BODY) {
      kept.push(bytes);
      keptBytes += bytes.length;
    }
  }
  return keptBytes > MAX_PARSED_BODY ? '' : Buffer.concat(kept).toString('utf8');
}

function outputsFrom(text: string, task: TaskContext): Record<string, string> {
  const output: Record<string, string> = {};
  if (!looksLikeJson(text)) return output;
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    return output;
  }
  if (answer === null || typeof answer !== 'object' || Array.isArray(answer)) return output;
  for (const key of Object.keys(task.node.output)) {
    if (!Object.hasOwn(answer, key)) continue;
    const value = (answer as Record<string, unknown>)[key];
    output[key] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return output;
}

function looksLikeJson(text: string): boolean {
  const first = text.trimStart()[0];
  return first === '{' || first === '[';
}

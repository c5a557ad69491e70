/**
 * The executor's own task records, in a SQLite file under its data directory, so that an
 * idempotency key keeps naming the same task across restarts and a finished task's result
 * and log can still be read afterwards. Times are epoch milliseconds.
 */
import { mkdirSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import path from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { makePrivate } from '../common/private-file.ts';
import type { GorchNode } from '../graph/model.ts';
import { State } from '../graph/states.ts';
import type { TaskStatus } from './types.ts';

export interface TaskRecord {
  id: string;
  key: string;
  node: GorchNode;
  state: number;
  output: Record<string, string>;
  exitCode: number | null;
  error: string | null;
  /** the bounded log, stored when the task ends */
  log: string | null;
  createdAt: number;
  startedAt: number | null;
  stoppedAt: number | null;
}

export interface TaskEnd {
  state: number;
  output: Record<string, string>;
  exitCode: number | null;
  error: string | null;
  log: string;
  stoppedAt: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS tasks (
  -- arrival order; a plain rowid (no AUTOINCREMENT, whose sqlite_sequence row would be one
  -- more page to write per task): tasks are never deleted, so numbers are never reused
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  idempotency_key TEXT NOT NULL UNIQUE,
  node TEXT NOT NULL,
  state INTEGER NOT NULL,
  output TEXT NOT NULL DEFAULT '{}',
  exit_code INTEGER,
  error TEXT,
  log TEXT,
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  stopped_at INTEGER
);`;

interface Row {
  id: string;
  idempotency_key: string;
  node: string;
  state: number;
  output: string;
  exit_code: number | null;
  error: string | null;
  log: string | null;
  created_at: number;
  started_at: number | null;
  stopped_at: number | null;
}

export class TaskStore {
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();

  /** Statements are prepared once per connection and reused. */
  #stmt(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  readonly #walPath: string;
  #wal: FileHandle | undefined;
  /** the data directory, which also holds the exit files of running tasks */
  readonly dir: string;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.dir = dataDir;
    const file = path.join(dataDir, 'executor.db');
    makePrivate(file); // task records hold nodes' args and outputs
    this.#db = new DatabaseSync(file);
    this.#walPath = `${file}-wal`;
    // WAL with synchronous=NORMAL: a commit survives a crash of this process (what idempotency
    // across restarts needs) without an fsync on the event loop. Surviving a power cut too is
    // `sync()`'s job, which the service awaits before it starts a task.
    this.#db.exec(
      'PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;',
    );
    this.#db.exec(SCHEMA);
  }

  /**
   * Makes every commit so far survive a power cut: an fsync of the write-ahead log on a libuv
   * pool thread, so the event loop goes on meanwhile, and one fsync covers every commit before
   * it (group commit). fsync works on the file, whichever descriptor asks; the WAL keeps its
   * inode while the database is open (SQLite rewinds it after a checkpoint, and checkpoints
   * fsync it first).
   */
  async sync(): Promise<void> {
    try {
      this.#wal ??= await open(this.#walPath, 'r');
    } catch (err) {
      // no log yet: every commit is in the database file, which checkpoints fsync
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    await this.#wal.sync();
  }

  /** Inserts a queued task unless the key exists; returns the task holding the key. */
  insert(
    id: string,
    key: string,
    node: GorchNode,
    now: number,
  ): { task: TaskRecord; created: boolean } {
    const { changes } = this.#stmt(
      `INSERT INTO tasks (id, idempotency_key, node, state, created_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (idempotency_key) DO NOTHING`,
    ).run(id, key, JSON.stringify(node), State.torun, now);
    if (changes === 1) {
      const task: TaskRecord = {
        id,
        key,
        node,
        state: State.torun,
        output: {},
        exitCode: null,
        error: null,
        log: null,
        createdAt: now,
        startedAt: null,
        stoppedAt: null,
      };
      return { task, created: true };
    }
    const row = this.#stmt('SELECT * FROM tasks WHERE idempotency_key = ?').get(
      key,
    ) as unknown as Row;
    return { task: toRecord(row), created: false };
  }

  get(id: string): TaskRecord | undefined {
    const row = this.#stmt('SELECT * FROM tasks WHERE id = ?').get(id) as unknown as
      | Row
      | undefined;
    return row && toRecord(row);
  }

  /** What `GET /v1/tasks/{id}` answers, read without parsing the stored node. */
  status(id: string): TaskStatus | undefined {
    const row = this.#stmt(
      `SELECT id, json_extract(node, '$.name') AS name, state, output, exit_code, error,
              started_at, stopped_at
         FROM tasks WHERE id = ?`,
    ).get(id) as unknown as (Omit<Row, 'node'> & { name: string }) | undefined;
    if (row === undefined) return undefined;
    return taskStatus({
      id: row.id,
      name: row.name,
      state: row.state,
      output: row.output === '{}' ? {} : (JSON.parse(row.output) as Record<string, string>),
      exitCode: row.exit_code,
      error: row.error,
      startedAt: row.started_at,
      stoppedAt: row.stopped_at,
    });
  }

  markRunning(id: string, now: number): void {
    this.#stmt('UPDATE tasks SET state = ?, started_at = ? WHERE id = ?').run(
      State.running,
      now,
      id,
    );
  }

  finish(id: string, end: TaskEnd): void {
    this.#stmt(
      `UPDATE tasks SET state = ?, output = ?, exit_code = ?, error = ?, log = ?, stopped_at = ?
         WHERE id = ?`,
    ).run(
      end.state,
      JSON.stringify(end.output),
      end.exitCode,
      end.error,
      end.log,
      end.stoppedAt,
      id,
    );
  }

  /** Ids of tasks recorded as running (after a crash: what it interrupted). */
  runningIds(): string[] {
    const rows = this.#stmt('SELECT id FROM tasks WHERE state = ?').all(State.running);
    return rows.map((r) => String(r.id));
  }

  /** Tasks recorded as running, oldest first. */
  running(): TaskRecord[] {
    const rows = this.#stmt('SELECT * FROM tasks WHERE state = ? ORDER BY seq').all(State.running);
    return rows.map((r) => toRecord(r as unknown as Row));
  }

  /** Queued tasks, oldest first. */
  queued(): TaskRecord[] {
    const rows = this.#stmt('SELECT * FROM tasks WHERE state = ? ORDER BY seq').all(State.torun);
    return rows.map((r) => toRecord(r as unknown as Row));
  }

  close(): void {
    this.#db.close();
    this.#wal?.close().catch(() => {});
  }
}

/** A task as the API answers it: times in ISO 8601, `null` until they happen. */
export function taskStatus(task: {
  id: string;
  name: string;
  state: number;
  output: Record<string, string>;
  exitCode: number | null;
  error: string | null;
  startedAt: number | null;
  stoppedAt: number | null;
}): TaskStatus {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    id: task.id,
    name: task.name,
    state: task.state,
    output: task.output,
    exit_code: task.exitCode,
    error: task.error,
    started_at: iso(task.startedAt),
    stopped_at: iso(task.stoppedAt),
  };
}

function toRecord(row: Row): TaskRecord {
  return {
    id: row.id,
    key: row.idempotency_key,
    node: JSON.parse(row.node) as GorchNode,
    state: row.state,
    output: JSON.parse(row.output) as Record<string, string>,
    exitCode: row.exit_code,
    error: row.error,
    log: row.log,
    createdAt: row.created_at,
    startedAt: row.started_at,
    stoppedAt: row.stopped_at,
  };
}

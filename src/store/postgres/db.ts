/**
 * Connections. Every operation module takes a `WithClient` as its first argument instead of
 * importing a pool: it borrows a client for exactly the work it shows, so transactions stay
 * visible at the call site, and tests can hand in any connection.
 */
import { type ClientBase, type CustomTypesConfig, Pool, types } from 'pg';

export type Client = ClientBase;

/** Lends a client to `body` and takes it back when the returned promise settles. */
export type WithClient = <T>(body: (client: Client) => Promise<T>) => Promise<T>;

/** How long a caller waits for a connection (a new one, or a free one of a busy pool). */
export const CONNECT_TIMEOUT_MS = 10_000;

const INT8_OID = 20;

/**
 * bigint (int8) as a JS number instead of pg's default string. Every bigint of the schema is
 * an epoch-millisecond time or a run's seq, far below 2^53; a value that is not a safe
 * integer throws rather than losing precision.
 */
const TYPES: CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === INT8_OID && format !== 'binary') return parseInt8;
    return types.getTypeParser(oid, format);
  }) as CustomTypesConfig['getTypeParser'],
};

function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new RangeError(`bigint ${text} is not a safe integer`);
  return value;
}

/**
 * How long the server lets a session sit idle inside a transaction before it ends the session.
 * A transaction of the store never waits on anything but its own next statement, so only a
 * client that stopped (frozen: SIGSTOP, a long GC pause, a VM migration) gets there; the
 * fence of apply.ts holds its runs' row locks until the transaction ends, and claims skip
 * locked rows, so without this bound a frozen replica would keep its runs from being taken
 * over for as long as it is frozen. The frozen client finds its connection gone when it
 * wakes up (a transient error: retried, and then fenced).
 */
export const IDLE_IN_TRANSACTION_MS = 2000;

/** A schema name usable unquoted: also in `-c search_path=...` and in channel names. */
export const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export interface PoolOptions {
  schema?: string;
  poolSize?: number;
}

/**
 * The connection settings every client of a store uses (pool, migrations, listener): the
 * schema comes first in search_path from the connection's start, so every unqualified name
 * of the SQL modules resolves in it (with pg_catalog implicitly searched first, as always).
 * The startup option works through plain PostgreSQL, not through a transaction-pooling
 * PgBouncer, which drops startup options.
 */
export function connectionConfig(url: string, options: PoolOptions) {
  const { schema } = options;
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw new RangeError(`schema must match ${SCHEMA_NAME}, got ${JSON.stringify(schema)}`);
  }
  return {
    connectionString: url,
    application_name: 'baton',
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_MS,
    types: TYPES,
    ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }),
  };
}

export function createPool(url: string, options: PoolOptions): Pool {
  const size = options.poolSize ?? 10;
  if (!Number.isSafeInteger(size) || size < 1) {
    throw new RangeError(`poolSize must be a positive integer, got ${size}`);
  }
  const pool = new Pool({ ...connectionConfig(url, options), max: size });
  // An idle client whose connection drops (a server restart, a killed backend) is emitted
  // here and removed from the pool; without a listener that would crash the process. The
  // next operation opens a new connection, or fails with a transient error to retry.
  pool.on('error', () => {});
  return pool;
}

/**
 * `withClient` over a pool. While lent, the client's connection errors (the socket dies, the
 * backend is terminated) are caught here, since pg-pool listens only to idle clients and an
 * unheard 'error' event would crash the process; such a client is destroyed, not reused.
 */
export function poolClient(pool: Pool): WithClient {
  return async (body) => {
    const client = await pool.connect();
    let lost: Error | undefined;
    const onError = (err: Error) => {
      lost = err;
    };
    client.on('error', onError);
    try {
      return await body(client);
    } finally {
      client.off('error', onError);
      client.release(lost);
    }
  };
}

/**
 * Runs `body` in a transaction on `client`: committed if it resolves, rolled back if it
 * rejects. The client must not be used by anything else meanwhile.
 */
export async function transaction<T>(client: Client, body: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  let result: T;
  try {
    result = await body();
  } catch (err) {
    // a ROLLBACK fails only on a dead connection, which ends the transaction anyway (and
    // which pg-pool then destroys): the error worth reporting is the first one
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
  // a failing COMMIT (serialization failure, connection lost) ends the transaction itself
  await client.query('COMMIT');
  return result;
}

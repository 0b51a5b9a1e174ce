import { type Compilable, CompiledQuery, type Kysely, type QueryResult } from 'kysely';
import type { Database } from './schema.js';

/** Where a prepared query's parameter goes, until the query runs with its value. */
class Slot {
  constructor(readonly name: string) {}
}

/** Runs a prepared query on `db` (the database or a transaction) with these parameters. */
export type PreparedQuery<P, R> = (db: Kysely<Database>, parameters: P) => Promise<QueryResult<R>>;

/**
 * A query that Kysely builds and compiles once per database, then runs with new values each time.
 * Building and compiling a query costs about as much as SQLite takes to run a small one, and the
 * statements of a password change run on every change: theirs are prepared here.
 *
 * `build` receives stand-ins for the parameters. Use each only as one value (in `where`, `values`,
 * `set`), never in the builder's own logic, since it is not the value: a query whose shape depends
 * on a parameter needs one prepared query per shape.
 *
 * The database's plugins rewrite the query once, when it is compiled (row locks on SQLite); a
 * plugin added later with `withPlugin` sees the results of each run but does not rewrite it again.
 */
export function preparedQuery<P extends object, R>(
  build: (db: Kysely<Database>, parameters: P) => Compilable<R>,
): PreparedQuery<P, R> {
  const slots = new Proxy({} as P, { get: (_target, name) => new Slot(String(name)) });
  // One compiled form per database, since the SQL differs between SQLite and PostgreSQL. Kysely
  // makes one adapter per database and its transactions share it, so the adapter is the key.
  const compiled = new WeakMap<object, { readonly sql: string; readonly parameters: readonly unknown[] }>();
  return (db, parameters) => {
    const key = db.getExecutor().adapter;
    let query = compiled.get(key);
    if (!query) {
      query = build(db, slots).compile();
      compiled.set(key, query);
    }
    const values = query.parameters.map((value) =>
      value instanceof Slot ? parameters[value.name as keyof P] : value,
    );
    return db.executeQuery(CompiledQuery.raw(query.sql, values) as CompiledQuery<R>);
  };
}

/**
 * Prepared queries of one shape per key (the length of a list, a locking read or a plain one),
 * each made the first time its key is asked for: see preparedQuery. Keys must be few.
 */
export function preparedQueries<K, P extends object, R>(
  build: (key: K) => (db: Kysely<Database>, parameters: P) => Compilable<R>,
): (key: K) => PreparedQuery<P, R> {
  const prepared = new Map<K, PreparedQuery<P, R>>();
  return (key) => {
    let query = prepared.get(key);
    if (!query) {
      query = preparedQuery(build(key));
      prepared.set(key, query);
    }
    return query;
  };
}

/** The row of `columns`, each from the parameter of the same name: a prepared insert of a whole row. */
export function rowOfParameters<T, K extends keyof T>(parameters: T, columns: readonly K[]): Pick<T, K> {
  const row = {} as Pick<T, K>;
  for (const column of columns) row[column] = parameters[column];
  return row;
}

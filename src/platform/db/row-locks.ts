import type {
  KyselyPlugin,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from 'kysely';

/*
 * Row locks, written once for both databases. A store asks for them as PostgreSQL spells them
 * (`.forUpdate()`, and `.skipLocked()` or `.noWait()` beside it) when a caller passes
 * `{ lock: true }`; services never ask which database they run on.
 *
 * SQLite has no row locks and no FOR UPDATE syntax. It needs none for what the locks protect
 * here: one process reaches the database through one connection, so its transactions run one at
 * a time, and a transaction of another process that wrote in between makes this one's write fail
 * with a stale snapshot (a `WriteConflictError`, see write-conflict.ts) instead of losing an
 * update. So on SQLite this plugin drops the lock clauses before the SQL is compiled.
 */

const rowLockModifiers: ReadonlySet<string> = new Set([
  'ForUpdate',
  'ForNoKeyUpdate',
  'ForShare',
  'ForKeyShare',
  'NoWait',
  'SkipLocked',
]);

/**
 * The statement without its lock clauses. Only a top-level SELECT is looked at, so every other
 * statement passes untouched at no cost; a lock inside a subquery (which no store writes) would
 * reach SQLite and fail as a syntax error rather than be dropped unseen.
 */
function withoutRowLocks(node: RootOperationNode): RootOperationNode {
  if (node.kind !== 'SelectQueryNode' || node.endModifiers === undefined) return node;
  const kept = node.endModifiers.filter(
    (modifier) => modifier.modifier === undefined || !rowLockModifiers.has(modifier.modifier),
  );
  if (kept.length === node.endModifiers.length) return node;
  return Object.freeze({ ...node, endModifiers: kept.length > 0 ? Object.freeze(kept) : undefined });
}

/** Drops FOR UPDATE and its kin from SELECT statements: installed on SQLite databases only. */
export class SqliteRowLocksPlugin implements KyselyPlugin {
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return withoutRowLocks(args.node);
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}

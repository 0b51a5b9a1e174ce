import {
  type KyselyPlugin,
  OperationNodeTransformer,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryResult,
  type RootOperationNode,
  type SelectQueryNode,
  type UnknownRow,
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

const rowLockModifiers = new Set([
  'ForUpdate',
  'ForNoKeyUpdate',
  'ForShare',
  'ForKeyShare',
  'NoWait',
  'SkipLocked',
]);

class DropRowLocks extends OperationNodeTransformer {
  protected override transformSelectQuery(
    node: SelectQueryNode,
    queryId?: PluginTransformQueryArgs['queryId'],
  ) {
    const transformed = super.transformSelectQuery(node, queryId);
    const kept = transformed.endModifiers?.filter(
      (modifier) => modifier.modifier === undefined || !rowLockModifiers.has(modifier.modifier),
    );
    if (kept === undefined || kept.length === transformed.endModifiers?.length) return transformed;
    return { ...transformed, endModifiers: kept.length > 0 ? kept : undefined };
  }
}

/** Drops FOR UPDATE and its kin from every SELECT: installed on SQLite databases only. */
export class SqliteRowLocksPlugin implements KyselyPlugin {
  readonly #transformer = new DropRowLocks();

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return this.#transformer.transformNode(args.node, args.queryId);
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}

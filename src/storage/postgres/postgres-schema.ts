import { EventValidationError } from "../../errors/error-classes.js";

/**
 * Where the events table lives: a schema and a table name, both plain lower-case SQL identifiers.
 *
 * @example
 * ```ts
 * const name: PostgresTableName = { schema: "seller", table: "events" };
 * postgresSchemaSql(name);
 * ```
 */
export interface PostgresTableName {
  /** Schema (namespace) of the table. Default: `"public"`. */
  readonly schema?: string | undefined;
  /** Name of the events table. Default: `"ad_seller_events"`. */
  readonly table?: string | undefined;
}

/**
 * Default schema of the events table.
 *
 * @example
 * ```ts
 * await pool.query(`SELECT count(*) FROM "${DEFAULT_POSTGRES_SCHEMA}"."${DEFAULT_POSTGRES_TABLE}"`);
 * ```
 */
export const DEFAULT_POSTGRES_SCHEMA = "public";
/**
 * Default name of the events table.
 *
 * @example
 * ```ts
 * postgresStorage({ pool, table: DEFAULT_POSTGRES_TABLE }); // same as leaving `table` out
 * ```
 */
export const DEFAULT_POSTGRES_TABLE = "ad_seller_events";

/** Columns that get an index combined with the append position, in the order they appear in the table. */
const CORRELATION_COLUMNS = ["flow_id", "flow_type", "proposal_id", "deal_id", "session_id"] as const;
const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
// PostgreSQL silently truncates names past 63 bytes; index names append at most 16 characters to the table name,
// and a truncated name could collide with another index and make "IF NOT EXISTS" skip it.
const MAX_SCHEMA_LENGTH = 63;
const MAX_TABLE_LENGTH = 63 - "_proposal_id_idx".length; // as long as the newer "_proposal_id_seq" and "_pos"

/** Resolved, validated and quoted names of everything the adapter creates. */
export interface PostgresObjectNames {
  readonly schema: string;
  readonly table: string;
  /** `"schema"."table"`, ready to splice into SQL. */
  readonly qualifiedTable: string;
  /** `"schema"."table_pruned"`: the ids retention deleted, so that a cursor naming one answers a gap. */
  readonly prunedTable: string;
  /** Every relation the schema SQL creates (table and indexes), schema-qualified and quoted. */
  readonly relations: readonly string[];
}

/**
 * The SQL that creates the events table and its indexes, for teams that run their own migrations (pass
 * `createSchema: false` to `postgresStorage` then). Every statement is idempotent (`IF NOT EXISTS`).
 *
 * @example
 * ```ts
 * import { writeFileSync } from "node:fs";
 * import { postgresSchemaSql } from "ad-seller-events/postgres";
 *
 * writeFileSync("migrations/0007_events.sql", postgresSchemaSql({ schema: "seller", table: "events" }));
 * ```
 */
export function postgresSchemaSql(name: PostgresTableName = {}): string {
  const names = resolvePostgresNames(name);
  const table = names.qualifiedTable;
  const statements: string[] = [];
  if (names.schema !== DEFAULT_POSTGRES_SCHEMA) statements.push(`CREATE SCHEMA IF NOT EXISTS ${quote(names.schema)};`);
  statements.push(
    [
      `CREATE TABLE IF NOT EXISTS ${table} (`,
      // `seq`: insertion number, drawn without any lock; it orders the rows of one append and nothing else.
      "  seq bigint GENERATED ALWAYS AS IDENTITY,",
      // `position`: the reading order, set after commit by the table's sequencer (postgres-sequencer.ts).
      "  position bigint,",
      "  event_id uuid NOT NULL,",
      "  event_type text NOT NULL,",
      `  "timestamp" text COLLATE "C" NOT NULL,`,
      ...CORRELATION_COLUMNS.map((column) => `  ${column} text NOT NULL DEFAULT '',`),
      "  payload jsonb NOT NULL DEFAULT '{}',",
      "  metadata jsonb NOT NULL DEFAULT '{}',",
      "  body text,",
      `  CONSTRAINT ${quote(`${names.table}_event_id_key`)} UNIQUE (event_id)`,
      ");",
    ].join("\n"),
  );
  // Tables of earlier releases gain what they lack. Their rows start without a position; the sequencer numbers
  // them in `seq` order (their order until now) in batches before any newer row: that is the online migration.
  statements.push(
    `ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS body text;`,
    `ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS position bigint;`,
    `ALTER TABLE ${table} DROP CONSTRAINT IF EXISTS ${quote(`${names.table}_pkey`)};`,
    `ALTER TABLE ${table} DROP COLUMN IF EXISTS xid;`,
  );
  statements.push(
    `CREATE UNIQUE INDEX IF NOT EXISTS ${quote(`${names.table}_seq_key`)} ON ${table} (seq);`,
    `CREATE UNIQUE INDEX IF NOT EXISTS ${quote(`${names.table}_position_key`)} ON ${table} (position);`,
    // What the sequencer walks: small, since a row leaves it as soon as it is numbered.
    `CREATE INDEX IF NOT EXISTS ${quote(`${names.table}_unpositioned`)} ON ${table} (seq) WHERE position IS NULL;`,
  );
  // Every read walks one of these. Partial: a row enters them when numbered (never at insert, which stays cheap),
  // and most events leave some correlation fields empty ("" is never a filter value).
  for (const column of CORRELATION_COLUMNS) {
    statements.push(
      `CREATE INDEX IF NOT EXISTS ${quote(`${names.table}_${column}_pos`)} ON ${table} (${column}, position) ` +
        `WHERE ${column} <> '' AND position IS NOT NULL;`,
    );
  }
  statements.push(
    `CREATE INDEX IF NOT EXISTS ${quote(`${names.table}_event_type_pos`)} ON ${table} (event_type, position) WHERE position IS NOT NULL;`,
    `CREATE INDEX IF NOT EXISTS ${quote(`${names.table}_timestamp_pos`)} ON ${table} ("timestamp", position) WHERE position IS NOT NULL;`,
    // Ids deleted by prune() with their position, so that a cursor naming one answers EventGapError.
    `CREATE TABLE IF NOT EXISTS ${names.prunedTable} (event_id uuid PRIMARY KEY, seq bigint NOT NULL);`,
  );
  return `${statements.join("\n\n")}\n`;
}

/** Validates the schema and table names and derives the quoted names the adapter's SQL uses. */
export function resolvePostgresNames(name: PostgresTableName): PostgresObjectNames {
  const schema = checkIdentifier("schema", name.schema ?? DEFAULT_POSTGRES_SCHEMA, MAX_SCHEMA_LENGTH);
  const table = checkIdentifier("table", name.table ?? DEFAULT_POSTGRES_TABLE, MAX_TABLE_LENGTH);
  const qualify = (relation: string) => `${quote(schema)}.${quote(relation)}`;
  const indexSuffixes = [
    "event_id_key",
    "seq_key",
    "position_key",
    "unpositioned",
    ...CORRELATION_COLUMNS.map((c) => `${c}_pos`),
    "event_type_pos",
    "timestamp_pos",
  ];
  return {
    schema,
    table,
    qualifiedTable: qualify(table),
    prunedTable: qualify(`${table}_pruned`),
    relations: [table, ...[...indexSuffixes, "pruned"].map((suffix) => `${table}_${suffix}`)].map(qualify),
  };
}

/**
 * Indexes that tables created by earlier releases carry and nothing reads any more: the `(column, seq)` ones of
 * 0.2 (reads follow `position` now) and the `_idx` ones from before. Dropping them once every process runs this
 * release saves their cost on every append.
 *
 * @example
 * ```ts
 * import { legacyPostgresIndexes } from "ad-seller-events/postgres";
 *
 * for (const index of legacyPostgresIndexes({ table: "seller_events" })) console.log(`DROP INDEX CONCURRENTLY IF EXISTS ${index};`);
 * ```
 */
export function legacyPostgresIndexes(name: PostgresTableName = {}): string[] {
  const schema = checkIdentifier("schema", name.schema ?? DEFAULT_POSTGRES_SCHEMA, MAX_SCHEMA_LENGTH);
  const table = checkIdentifier("table", name.table ?? DEFAULT_POSTGRES_TABLE, MAX_TABLE_LENGTH);
  const columns = [...CORRELATION_COLUMNS, "event_type", "timestamp"];
  return [...columns.map((column) => `${column}_idx`), ...columns.map((column) => `${column}_seq`)].map(
    (suffix) => `${quote(schema)}.${quote(`${table}_${suffix}`)}`,
  );
}

function checkIdentifier(field: "schema" | "table", value: unknown, maxLength: number): string {
  if (typeof value !== "string" || !IDENTIFIER.test(value) || value.length > maxLength) {
    const shown = typeof value === "string" ? JSON.stringify(value) : String(value);
    throw EventValidationError.forField(
      field,
      `must be a lower-case SQL identifier (a-z, 0-9, _; not starting with a digit; at most ${maxLength} characters), got ${shown}`,
    );
  }
  return value;
}

/** Quotes an identifier that has already passed `checkIdentifier` (so it holds no quote characters). */
function quote(identifier: string): string {
  return `"${identifier}"`;
}

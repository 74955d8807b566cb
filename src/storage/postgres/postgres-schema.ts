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
const MAX_TABLE_LENGTH = 63 - "_proposal_id_idx".length; // as long as the newer "_proposal_id_seq"

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
      "  seq bigint GENERATED ALWAYS AS IDENTITY,",
      "  xid xid8 NOT NULL DEFAULT pg_current_xact_id(),",
      "  event_id uuid NOT NULL,",
      "  event_type text NOT NULL,",
      `  "timestamp" text COLLATE "C" NOT NULL,`,
      ...CORRELATION_COLUMNS.map((column) => `  ${column} text NOT NULL DEFAULT '',`),
      "  payload jsonb NOT NULL DEFAULT '{}',",
      "  metadata jsonb NOT NULL DEFAULT '{}',",
      "  body text,",
      `  CONSTRAINT ${quote(`${names.table}_pkey`)} PRIMARY KEY (xid, seq),`,
      `  CONSTRAINT ${quote(`${names.table}_event_id_key`)} UNIQUE (event_id)`,
      ");",
    ].join("\n"),
  );
  // The event's wire JSON exactly as the bus wrote it (the jsonb columns reorder keys): served without a parse.
  // Tables from before 0.2 gain it here; their older rows keep NULL and are rebuilt from the columns.
  statements.push(`ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS body text;`);
  // `seq` is the append order (assigned under the append lock, so it is commit order); every read walks one of these.
  statements.push(`CREATE UNIQUE INDEX IF NOT EXISTS ${quote(`${names.table}_seq_key`)} ON ${table} (seq);`);
  for (const column of CORRELATION_COLUMNS) {
    // Partial: most events leave some correlation fields empty, and "" is never a filter value.
    statements.push(
      `CREATE INDEX IF NOT EXISTS ${quote(`${names.table}_${column}_seq`)} ON ${table} (${column}, seq) WHERE ${column} <> '';`,
    );
  }
  statements.push(
    `CREATE INDEX IF NOT EXISTS ${quote(`${names.table}_event_type_seq`)} ON ${table} (event_type, seq);`,
    `CREATE INDEX IF NOT EXISTS ${quote(`${names.table}_timestamp_seq`)} ON ${table} ("timestamp", seq);`,
    // Ids deleted by prune(), so that a cursor naming one answers EventGapError instead of "unknown cursor".
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
    "pkey",
    "event_id_key",
    "seq_key",
    ...CORRELATION_COLUMNS.map((c) => `${c}_seq`),
    "event_type_seq",
    "timestamp_seq",
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
 * Indexes that tables created before 0.2 carry and nothing reads any more (reads follow `seq`, not `(xid, seq)`).
 * Dropping them once every process runs 0.2 saves their cost on every append.
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
  return [...CORRELATION_COLUMNS, "event_type", "timestamp"].map(
    (column) => `${quote(schema)}.${quote(`${table}_${column}_idx`)}`,
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

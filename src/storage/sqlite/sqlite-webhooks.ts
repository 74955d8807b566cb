import type { WebhookLogQuery, WebhookLogRecord, WebhookStore } from "../types.js";
import { inWriteTransaction, type SqliteDatabase } from "./sqlite-driver.js";
import { checkTableName, quoteIdentifier } from "./sqlite-schema.js";

/**
 * The SQL that creates the webhook tables beside an events table: `{table}_webhooks` (one row per subscription,
 * its JSON) and `{table}_webhook_log` (the delivery log). Idempotent.
 */
export function sqliteWebhookSchemaSql(options: { readonly table?: string | undefined } = {}): string {
  const { subscriptions, log, logIndex } = webhookTables(checkTableName(options.table));
  return [
    `CREATE TABLE IF NOT EXISTS ${subscriptions} (id TEXT PRIMARY KEY, json TEXT NOT NULL);`,
    `CREATE TABLE IF NOT EXISTS ${log} (`,
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,",
    "  subscription_id TEXT NOT NULL,",
    "  event_id TEXT,",
    "  ok INTEGER NOT NULL,",
    "  at TEXT NOT NULL,",
    "  json TEXT NOT NULL",
    ");",
    `CREATE INDEX IF NOT EXISTS ${logIndex} ON ${log} (subscription_id, seq);`,
    "",
  ].join("\n");
}

interface LogRow {
  readonly subscription_id: string;
  readonly event_id: string | null;
  readonly ok: number;
  readonly at: string;
  readonly json: string;
}

/** Webhook subscriptions and their delivery log in the same SQLite file as the events. */
export function sqliteWebhooks(
  database: SqliteDatabase,
  table: string,
  use: <T>(operation: string, work: () => T) => T,
  createSchema: boolean,
): WebhookStore {
  const { subscriptions, log } = webhookTables(table);
  let ready = !createSchema;
  const run = <T>(operation: string, work: () => T): T =>
    use(operation, () => {
      if (!ready) {
        inWriteTransaction(database, () => database.exec(sqliteWebhookSchemaSql({ table })));
        ready = true;
      }
      return work();
    });

  return {
    async saveSubscription(id, json) {
      run("saveSubscription", () =>
        database
          .prepare(
            `INSERT INTO ${subscriptions} (id, json) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET json = excluded.json`,
          )
          .run(id, json),
      );
    },
    async readSubscription(id) {
      return run("readSubscription", () => {
        const row = database.prepare(`SELECT json FROM ${subscriptions} WHERE id = ?`).get(id) as
          | { json: string }
          | undefined;
        return row?.json ?? null;
      });
    },
    async listSubscriptions() {
      return run("listSubscriptions", () =>
        (
          database.prepare(`SELECT id, json FROM ${subscriptions} ORDER BY id`).all() as { id: string; json: string }[]
        ).map(({ id, json }) => ({ id, json })),
      );
    },
    async deleteSubscription(id) {
      return run("deleteSubscription", () =>
        inWriteTransaction(database, () => {
          database.prepare(`DELETE FROM ${log} WHERE subscription_id = ?`).run(id);
          return Number(database.prepare(`DELETE FROM ${subscriptions} WHERE id = ?`).run(id).changes) > 0;
        }),
      );
    },
    async appendDelivery(record, keep) {
      run("appendDelivery", () =>
        inWriteTransaction(database, () => {
          database
            .prepare(`INSERT INTO ${log} (subscription_id, event_id, ok, at, json) VALUES (?, ?, ?, ?, ?)`)
            .run(record.subscription_id, record.event_id, record.ok ? 1 : 0, record.at, record.json);
          database
            .prepare(
              `DELETE FROM ${log} WHERE subscription_id = ? AND seq <= ` +
                `(SELECT seq FROM ${log} WHERE subscription_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)`,
            )
            .run(record.subscription_id, record.subscription_id, keep);
        }),
      );
    },
    async listDeliveries(query) {
      return run("listDeliveries", () => {
        const { where, values } = logFilter(query);
        const sql = `SELECT subscription_id, event_id, ok, at, json FROM ${log} WHERE ${where} ORDER BY seq DESC LIMIT ?`;
        return (database.prepare(sql).all(...values, query.limit) as LogRow[]).map(
          (row): WebhookLogRecord => ({ ...row, ok: Number(row.ok) === 1 }),
        );
      });
    },
  };
}

function logFilter(query: WebhookLogQuery): { where: string; values: (string | number)[] } {
  const clauses = ["subscription_id = ?"];
  const values: (string | number)[] = [query.subscription_id];
  const add = (clause: string, value: string | number | undefined) => {
    if (value === undefined) return;
    clauses.push(clause);
    values.push(value);
  };
  add("event_id = ?", query.event_id);
  add("ok = ?", query.ok === undefined ? undefined : Number(query.ok));
  add("at >= ?", query.since);
  add("at < ?", query.until);
  return { where: clauses.join(" AND "), values };
}

function webhookTables(table: string) {
  return {
    subscriptions: quoteIdentifier(`${table}_webhooks`),
    log: quoteIdentifier(`${table}_webhook_log`),
    logIndex: quoteIdentifier(`${table}_webhook_log_subscription`),
  };
}

import type { Pool } from "pg";
import type { WebhookLogQuery, WebhookLogRecord, WebhookStore } from "../types.js";
import { type PostgresTableName, resolvePostgresNames } from "./postgres-schema.js";

const WEBHOOK_SETUP_LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtextextended('ad-seller-events:schema-setup', 0));";

/**
 * The SQL of the webhook tables beside an events table: `{table}_webhooks` (one row per subscription, its JSON)
 * and `{table}_webhook_log` (the delivery log, indexed by subscription). Every statement is idempotent.
 */
export function postgresWebhookSchemaSql(name: PostgresTableName = {}): string {
  const tables = webhookTables(name);
  return [
    `CREATE TABLE IF NOT EXISTS ${tables.subscriptions} (id text NOT NULL, json text NOT NULL, CONSTRAINT ${tables.subscriptionsKey} PRIMARY KEY (id));`,
    `CREATE TABLE IF NOT EXISTS ${tables.log} (
  subscription_id text NOT NULL,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  event_id text,
  ok boolean NOT NULL,
  at text NOT NULL,
  json text NOT NULL,
  CONSTRAINT ${tables.logKey} PRIMARY KEY (subscription_id, seq)
);`,
    "",
  ].join("\n");
}

/**
 * Webhook subscriptions and their delivery log in PostgreSQL, shared by every process of a fleet. Appending an
 * entry and trimming the subscription's log to `keep` entries is one statement.
 */
export function postgresWebhooks(
  pool: Pool,
  name: PostgresTableName,
  createSchema: boolean,
  run: <T>(operation: string, work: () => Promise<T>) => Promise<T>,
): WebhookStore {
  const { subscriptions, log } = webhookTables(name);
  let ready: Promise<void> | undefined = createSchema ? undefined : Promise.resolve();
  const call = <T>(operation: string, work: () => Promise<T>) =>
    run(operation, async () => {
      ready ??= pool.query(`${WEBHOOK_SETUP_LOCK_SQL}\n${postgresWebhookSchemaSql(name)}`).then(
        () => undefined,
        (error: unknown) => {
          ready = undefined;
          throw error;
        },
      );
      await ready;
      return work();
    });

  return {
    saveSubscription: (id, json) =>
      call("saveSubscription", async () => {
        await pool.query(
          `INSERT INTO ${subscriptions} (id, json) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET json = EXCLUDED.json`,
          [id, json],
        );
      }),
    readSubscription: (id) =>
      call("readSubscription", async () => {
        const result = await pool.query<{ json: string }>(`SELECT json FROM ${subscriptions} WHERE id = $1`, [id]);
        return result.rows[0]?.json ?? null;
      }),
    listSubscriptions: () =>
      call("listSubscriptions", async () => {
        const result = await pool.query<{ id: string; json: string }>(
          `SELECT id, json FROM ${subscriptions} ORDER BY id COLLATE "C"`,
        );
        return result.rows.map(({ id, json }) => ({ id, json }));
      }),
    deleteSubscription: (id) =>
      call("deleteSubscription", async () => {
        const result = await pool.query(
          `WITH gone AS (DELETE FROM ${log} WHERE subscription_id = $1) DELETE FROM ${subscriptions} WHERE id = $1`,
          [id],
        );
        return (result.rowCount ?? 0) > 0;
      }),
    appendDelivery: (record, keep) =>
      call("appendDelivery", async () => {
        await pool.query(
          `WITH added AS (
             INSERT INTO ${log} (subscription_id, event_id, ok, at, json) VALUES ($1, $2, $3, $4, $5) RETURNING seq
           )
           DELETE FROM ${log} WHERE subscription_id = $1 AND seq <= (
             SELECT seq FROM ${log} WHERE subscription_id = $1 ORDER BY seq DESC LIMIT 1 OFFSET $6 - 1
           )`,
          [record.subscription_id, record.event_id, record.ok, record.at, record.json, keep],
        );
      }),
    listDeliveries: (query) =>
      call("listDeliveries", async () => {
        const { where, values } = logConditions(query);
        const result = await pool.query<WebhookLogRecord>(
          `SELECT subscription_id, event_id, ok, at, json FROM ${log} WHERE ${where} ORDER BY seq DESC LIMIT $${values.length + 1}`,
          [...values, query.limit],
        );
        return result.rows.map(({ subscription_id, event_id, ok, at, json }) => ({
          subscription_id,
          event_id,
          ok,
          at,
          json,
        }));
      }),
  };
}

function logConditions(query: WebhookLogQuery): { where: string; values: unknown[] } {
  const values: unknown[] = [query.subscription_id];
  const where = ["subscription_id = $1"];
  for (const [column, operator, value] of [
    ["event_id", "=", query.event_id],
    ["ok", "=", query.ok],
    ["at", ">=", query.since],
    ["at", "<", query.until],
  ] as const) {
    if (value === undefined) continue;
    values.push(value);
    where.push(`${column} ${operator} $${values.length}`);
  }
  return { where: where.join(" AND "), values };
}

function webhookTables(name: PostgresTableName) {
  const { schema, table } = resolvePostgresNames(name);
  const qualify = (relation: string) => `"${schema}"."${relation}"`;
  return {
    subscriptions: qualify(`${table}_webhooks`),
    log: qualify(`${table}_webhook_log`),
    subscriptionsKey: `"${table}_webhooks_pkey"`,
    logKey: `"${table}_webhook_log_pkey"`,
  };
}

// Readers of what the forwarding tests published: a JetStream stream and a RabbitMQ queue, each unique per test.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect as connectNats } from "@nats-io/transport-node";
import amqplib from "amqplib";
import { EventBus } from "../../src/index.js";
import { sqliteStorage } from "../../src/storage/sqlite/index.js";
import { loadAnySqlite } from "./sqlite.js";

/** One message as the broker stored it. */
export interface StoredMessage {
  readonly id: string;
  readonly subject: string;
  readonly body: string;
}

/** Creates a file-backed stream capturing `<prefix>.>` and returns a reader of every message in it, by sequence. */
export async function natsStream(url: string, prefix: string) {
  const name = prefix.replace(/[^A-Za-z0-9_-]/g, "_");
  const connection = await connectNats({ servers: url });
  const manager = await jetstreamManager(connection);
  await manager.streams.add({ name, subjects: [`${prefix}.>`] });
  await connection.close();
  const withManager = async <T>(work: (jsm: Awaited<ReturnType<typeof jetstreamManager>>) => Promise<T>) => {
    const reader = await connectNats({ servers: url });
    try {
      return await work(await jetstreamManager(reader));
    } finally {
      await reader.close();
    }
  };
  return {
    name,
    count: () => withManager(async (jsm) => (await jsm.streams.info(name)).state.messages),
    read: () =>
      withManager(async (jsm) => {
        const { last_seq } = (await jsm.streams.info(name)).state;
        const messages: StoredMessage[] = [];
        for (let seq = 1; seq <= last_seq; seq++) {
          const stored = await jsm.streams.getMessage(name, { seq });
          if (stored === null) continue;
          messages.push({
            id: stored.header?.get("Nats-Msg-Id") ?? "",
            subject: stored.subject,
            body: stored.string(),
          });
        }
        return messages;
      }),
    drop: () => withManager((jsm) => jsm.streams.delete(name)),
  };
}

/** A topic exchange and a durable queue bound to all of it, both named `name`, with a reader and a cleanup. */
export async function amqpQueue(url: string, name: string) {
  const connection = await amqplib.connect(url);
  const channel = await connection.createChannel();
  await channel.assertExchange(name, "topic", { durable: true });
  await channel.assertQueue(name, { durable: true });
  await channel.bindQueue(name, name, "#");
  const received: (StoredMessage & { persistent: boolean; contentType: string | undefined })[] = [];
  await channel.consume(name, (message) => {
    if (message === null) return;
    received.push({
      id: String(message.properties.messageId),
      subject: message.fields.routingKey,
      body: message.content.toString(),
      persistent: message.properties.deliveryMode === 2,
      contentType: message.properties.contentType as string | undefined,
    });
    channel.ack(message);
  });
  return {
    received,
    async drop() {
      await channel.deleteQueue(name);
      await channel.deleteExchange(name);
      await connection.close();
    },
  };
}

/** Polls `check` every 20 ms until it is true, failing after `timeoutMs` with `what` and the last `detail()`. */
export async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  detail = () => "",
  timeoutMs = 20_000,
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${detail()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The ids in order of first appearance, and how many messages repeated an id seen before. */
export function firstCopies(messages: readonly StoredMessage[]): { ids: string[]; repeats: number } {
  const seen = new Set<string>();
  for (const message of messages) seen.add(message.id);
  return { ids: [...seen], repeats: messages.length - seen.size };
}

/**
 * A bus over a SQLite file in a new folder: the store a forwarder child process opens by `path`. `cleanups` closes
 * the bus and removes the folder after the test.
 */
export async function sqliteBusForForwarders(
  label: string,
  cleanups: (() => Promise<unknown>)[],
): Promise<{ bus: EventBus; path: string }> {
  const folder = mkdtempSync(join(tmpdir(), `${label}-`));
  cleanups.push(async () => rmSync(folder, { recursive: true, force: true }));
  const openSqlite = await loadAnySqlite();
  const path = join(folder, "events.sqlite");
  const bus = new EventBus({
    storage: sqliteStorage({ database: openSqlite(path), closeDatabase: true }),
    closeStorage: true,
  });
  cleanups.push(() => bus.close());
  return { bus, path };
}

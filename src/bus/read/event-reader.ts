import type { Event } from "../../event/event.js";
import { type EventQuery, isUuid, normalizeEventQuery } from "../../event/query.js";
import { callStore } from "../../storage/kit/store-errors.js";
import type { EventStorage } from "../../storage/types.js";
import { type EventJsonPage, type EventPage, eventJson, trimPage } from "./event-page.js";

/**
 * The read side of a bus: validates queries, reads one extra event to learn `has_more`, and takes stored JSON text
 * straight from stores that can give it (`listJson`, `getJson`). Driver errors become `StorageError`.
 */
export class EventReader {
  constructor(private readonly storage: EventStorage) {}

  async listPage(query: EventQuery): Promise<EventPage> {
    const normalized = normalizeEventQuery(query);
    const events = await this.call("list", () => this.storage.list({ ...normalized, limit: normalized.limit + 1 }));
    return trimPage(events, normalized.limit, normalized.after !== undefined, (items, has_more) => ({
      events: items,
      has_more,
    }));
  }

  async jsonPage(query: EventQuery): Promise<EventJsonPage> {
    const listJson = this.storage.listJson;
    if (listJson === undefined) {
      const page = await this.listPage(query);
      return { json: page.events.map(eventJson), has_more: page.has_more };
    }
    const normalized = normalizeEventQuery(query);
    const texts = await this.call("list", () =>
      listJson.call(this.storage, { ...normalized, limit: normalized.limit + 1 }),
    );
    return trimPage(texts, normalized.limit, normalized.after !== undefined, (json, has_more) => ({ json, has_more }));
  }

  async get(eventId: string): Promise<Event | null> {
    if (!isUuid(eventId)) return null;
    return this.call("get", () => this.storage.get(eventId.toLowerCase()));
  }

  async getJson(eventId: string): Promise<string | null> {
    if (!isUuid(eventId)) return null;
    const id = eventId.toLowerCase();
    const getJson = this.storage.getJson;
    if (getJson === undefined) {
      const event = await this.call("get", () => this.storage.get(id));
      return event === null ? null : eventJson(event);
    }
    return this.call("get", () => getJson.call(this.storage, id));
  }

  /** Runs a store call; anything but the library's own errors becomes a `StorageError` naming the operation. */
  async call<T>(operation: string, call: () => Promise<T>): Promise<T> {
    return callStore(this.storage.name, operation, call);
  }
}

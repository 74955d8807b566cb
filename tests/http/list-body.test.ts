// The list body is assembled from the events' stored JSON texts: exactly the JSON a serialiser would write, with its
// UTF-8 length, whatever the number of events, and without touching the caller's array.
import { describe, expect, it } from "vitest";
import { listBody } from "../../src/http/responses.js";

describe("listBody", () => {
  const texts = ['{"a":"Zürich 😀"}', '{"b":[1,2]}', '{"c":{}}'];

  it.each([0, 1, 2, 3])("writes the body of %i events and its UTF-8 length", (count) => {
    const events = texts.slice(0, count);
    for (const hasMore of [true, false]) {
      const body = listBody(events, hasMore);
      expect(body.text).toBe(JSON.stringify({ events: events.map((text) => JSON.parse(text)), has_more: hasMore }));
      expect(body.bytes).toBe(Buffer.byteLength(body.text));
    }
  });

  it("leaves the given texts as they were", () => {
    const events = [...texts];
    listBody(events, false);
    expect(events).toEqual(texts);
  });
});

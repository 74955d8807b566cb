/**
 * What an application mounts: `GET {base}`, `/{id}`, `/stream`, the desk routes (`/export`, `/summary`, `q`) and the
 * viewer at `/ui`, on node:http, Koa or any fetch runtime.
 *
 * @module ad-seller-events/http
 */
export type { EventsHttpOptions, EventsHttpRequest, EventsRequestHeaders } from "./core.js";
export type { EventsFetchHandler } from "./fetch.js";
export { createEventsFetchHandler } from "./fetch.js";
export type { EventsKoaMiddleware, KoaContextLike } from "./koa.js";
export { createEventsKoaMiddleware } from "./koa.js";
export type { EventsNodeHandler } from "./node.js";
export { createEventsHandler } from "./node.js";
export type { EventsViewerOptions } from "./viewer/viewer-routes.js";

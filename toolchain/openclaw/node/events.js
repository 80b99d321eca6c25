// Astrid's `node:events`: the `events` npm package (EventEmitter and `once`). Not provided:
// `on` (async iterator), `getEventListeners`, captureRejections and EventTarget helpers. The
// package is imported by file (`events/events.js`): the bundler maps the bare name `events` to
// this module.
import EventEmitterImpl from "events/events.js";

export const EventEmitter = EventEmitterImpl;
export const once = EventEmitterImpl.once;
export default EventEmitterImpl;

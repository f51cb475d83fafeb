/**
 * What `process/` (the npm "process" polyfill, required by readable-stream) resolves to in
 * the Workers bundle (wrangler.toml [alias]): the runtime's own node:process (nodejs_compat).
 * The polyfill queues every process.nextTick callback in one isolate-wide queue drained by
 * a timer, so a callback of one request would run in another request's context, where
 * workerd forbids its I/O (a notification's WebSocket write), and the queue stalls.
 * workerd's process.nextTick runs on the calling request's microtask queue.
 */
import process from "node:process";

export default process;

/**
 * The sink plugins of the runtimes that are server processes (Node, Deno, Bun): every
 * plugin of index.ts, and those that need what only a server process has — raw TCP
 * sockets, a filesystem — so that they could never run on Cloudflare Workers.
 *
 * The Worker never imports this file (test/contract-worker.test.ts checks its import
 * graph), so a plugin listed only here, and the client library it brings, add nothing to
 * the Worker's bundle (test/worker-bundle.test.ts measures it). On Workers its scheme is
 * then unknown, and the boot says that such plugins are not part of the Worker.
 */
import type { SinkPlugin } from "../../core/sinks/plugin.js";
import { SINK_PLUGINS } from "./index.js";

export const SERVER_SINK_PLUGINS: readonly SinkPlugin[] = [
  ...SINK_PLUGINS,
  // Plugins needing raw TCP or a filesystem: one line each.
] as SinkPlugin[];

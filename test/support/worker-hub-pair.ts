/**
 * The notification hub as a Worker of its own (wrangler.hub.toml) in one `wrangler dev`
 * session, and the API Worker (wrangler.toml, its NOTIFY_HUB binding naming that Worker by
 * `script_name`) in another: two workerd processes, as deployed the Durable Object runs apart
 * from the Worker that calls it. The sessions find each other through a dev registry of their
 * own. The hub is started first and stopped last; its storage is kept across `restartHub()`.
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWorkerDev, type WorkerDev, type WorkerDevOptions } from "./worker-dev.js";

/** The hub Worker's `name` in wrangler.hub.toml. */
export const HUB_SCRIPT = "iot-support-hub";

export interface HubPair {
  api: WorkerDev;
  /** The hub's session now (a new one after restartHub). */
  readonly hub: WorkerDev;
  /** Stops the hub's session and starts another on the same storage; the API Worker's session runs on. */
  restartHub(): Promise<WorkerDev>;
  cleanup(): Promise<void>;
}

/**
 * `vars` go to the API Worker; `hubVars` to the hub (default: the API's, less SIGNING_KEY, which
 * the hub does not read). `options` are the API Worker's.
 */
export async function startHubPair(
  vars: Record<string, string>,
  options: WorkerDevOptions = {},
  hubVars?: Record<string, string>,
): Promise<HubPair> {
  const dir = await mkdtemp(join(tmpdir(), "iot-hub-pair-"));
  const { SIGNING_KEY: _, ...rest } = vars;
  const hubOptions: WorkerDevOptions = {
    config: "wrangler.hub.toml",
    registry: join(dir, "registry"),
    persistTo: join(dir, "hub-state"),
  };
  const startHub = () => startWorkerDev(hubVars ?? rest, hubOptions);
  let hub: WorkerDev | undefined;
  try {
    await mkdir(join(dir, "registry"));
    hub = await startHub();
    const api = await startWorkerDev(vars, { ...options, hubScript: HUB_SCRIPT, registry: hubOptions.registry });
    let current = hub;
    return {
      api,
      get hub() {
        return current;
      },
      async restartHub() {
        await current.cleanup();
        current = await startHub();
        return current;
      },
      async cleanup() {
        await api.cleanup();
        await current.cleanup();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await hub?.cleanup();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

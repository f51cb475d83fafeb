/**
 * The notification hub as a Worker of its own (wrangler.hub.toml) in one `wrangler dev`
 * session, and the API Worker (wrangler.toml, its NOTIFY_HUB binding naming that Worker by
 * `script_name`) in another: two workerd processes, as deployed the Durable Object runs apart
 * from the Worker that calls it. The sessions find each other through a dev registry of their
 * own. The hub is started first and stopped last.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWorkerDev, type WorkerDev, type WorkerDevOptions } from "./worker-dev.js";

/** The hub Worker's `name` in wrangler.hub.toml. */
export const HUB_SCRIPT = "iot-support-hub";

export interface HubPair {
  api: WorkerDev;
  hub: WorkerDev;
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
  const registry = await mkdtemp(join(tmpdir(), "iot-registry-"));
  const { SIGNING_KEY: _, ...rest } = vars;
  let hub: WorkerDev | undefined;
  try {
    hub = await startWorkerDev(hubVars ?? rest, { config: "wrangler.hub.toml", registry });
    const api = await startWorkerDev(vars, { ...options, hubScript: HUB_SCRIPT, registry });
    const started = hub;
    return {
      api,
      hub: started,
      async cleanup() {
        await api.cleanup();
        await started.cleanup();
        await rm(registry, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await hub?.cleanup();
    await rm(registry, { recursive: true, force: true });
    throw error;
  }
}

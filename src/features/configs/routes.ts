/**
 * /api/configs: list, get, create-or-update, delete per-device configurations.
 * Notifications go out only after a successful save, never for a delete.
 * Each route is declared once (schemas.ts): that definition mounts it and documents it.
 */
import { addRoute, createApi } from "../../core/api-routes.js";
import type { AppDeps } from "../../core/deps.js";
import { normaliseMac } from "../../core/names.js";
import type { ConfigOperation } from "../../core/observer.js";
import { secondsSince } from "../../core/observer.js";
import { createBodySlots } from "../request-limits/body-slots.js";
import { readConfigBody } from "./body.js";
import { deleteConfig, getConfig, listConfigs, putConfig } from "./schemas.js";

export function configRoutes(deps: AppDeps) {
  const { configs, notifier, observer } = deps;
  // Config bodies that arrive slowly: the same bound and per-client share as uploads (config-body.ts).
  const slowBodies = createBodySlots(
    { total: deps.limits.maxConcurrentUploads, perClient: deps.limits.maxUploadsPerClient },
    "slow config bodies",
  );

  /** Times an operation and counts its outcome, failures included. */
  const measured = async <T>(operation: ConfigOperation, work: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    let status: "success" | "error" = "error";
    try {
      const result = await work();
      status = "success";
      return result;
    } finally {
      observer.configOperation(operation, status, secondsSince(start));
    }
  };

  const app = createApi();
  addRoute(app, listConfigs, async (c) => {
    const { body, count } = await measured("list", () => configs.listJson());
    observer.configFilesCounted(count);
    return c.body(body as Uint8Array<ArrayBuffer>, 200, { "Content-Type": "application/json" });
  });
  addRoute(app, getConfig, async (c) => {
    const mac = normaliseMac(c.req.param("mac"));
    return c.json(await measured("get", () => configs.get(mac)));
  });
  addRoute(app, putConfig, async (c) => {
    // A bad MAC is reported before anything about the body.
    const mac = normaliseMac(c.req.param("mac"));
    const { content, allowOverwrite } = await readConfigBody(
      c.req.raw,
      {
        maxBytes: deps.limits.maxConfigBytes,
        idleMs: deps.limits.idleTimeoutMs,
        minBytesPerSecond: deps.limits.minBytesPerSecond,
      },
      // With admin authentication on, the gate has already checked this sender.
      { slots: slowBodies, client: deps.clientAddress?.(c), proven: deps.auth.admin !== undefined },
    );
    const { config, created, stored } = await measured("save", () => configs.save(mac, content, allowOverwrite));
    if (created) observer.configFilesChanged(1);
    notifier.configSaved(mac, stored);
    return c.json(config, 200);
  });
  addRoute(app, deleteConfig, async (c) => {
    const mac = normaliseMac(c.req.param("mac"));
    await measured("delete", () => configs.remove(mac));
    observer.configFilesChanged(-1);
    return c.body(null, 204);
  });
  return app;
}

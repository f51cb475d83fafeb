/**
 * GET /api/devices and GET /api/devices/{mac}: the fleet view (fleet-view.ts). Admin
 * routes: the admin gate in front of /api covers them.
 */
import { addRoute, createApi } from "../../core/api-routes.js";
import type { AppDeps } from "../../core/deps.js";
import { notFound, validationFailed } from "../../core/errors.js";
import { normaliseMac } from "../../core/names.js";
import { DEVICE_SYNC, type DeviceSync } from "./contract.js";
import { getDevice, listDevices } from "./schemas.js";

function syncFilter(raw: string | undefined): DeviceSync | undefined {
  if (raw === undefined) return undefined;
  if (!DEVICE_SYNC.includes(raw as DeviceSync)) {
    throw validationFailed(`sync must be one of ${DEVICE_SYNC.join(", ")}`, { field: "sync" });
  }
  return raw as DeviceSync;
}

export function fleetViewRoutes(deps: AppDeps) {
  const { view } = deps.fleet;
  const app = createApi();
  addRoute(app, listDevices, async (c) => {
    const { body } = await view.listJson(syncFilter(c.req.query("sync")));
    return c.body(body as Uint8Array<ArrayBuffer>, 200, { "Content-Type": "application/json" });
  });
  addRoute(app, getDevice, async (c) => {
    const mac = normaliseMac(c.req.param("mac"));
    const device = await view.get(mac);
    if (!device) throw notFound(`No device ${mac}: it has neither a config nor a record`, { mac_address: mac });
    return c.json(device);
  });
  return app;
}

/**
 * /api/devices: the device's own credentials (issue, rotate, revoke). Admin routes: the
 * admin gate in front of /api covers them. A token is shown only in the answer that issues
 * it, and never logged; the log says who got one and when.
 */
import { addRoute, createApi } from "../../core/api-routes.js";
import type { AppDeps } from "../../core/deps.js";
import { normaliseMac } from "../../core/names.js";
import { issueDeviceToken, revokeDeviceTokens } from "./schemas.js";

export function deviceRoutes(deps: AppDeps) {
  const { tokens } = deps.devices;
  const app = createApi();
  addRoute(app, issueDeviceToken, async (c) => {
    const mac = normaliseMac(c.req.param("mac"));
    const { token, issuedAt } = await tokens.issue(mac);
    deps.logger.info("device token issued", { mac_address: mac, correlationId: c.get("requestId") });
    c.header("Cache-Control", "no-store");
    return c.json({ mac_address: mac, token, issued_at: issuedAt.toISOString() }, 201);
  });
  addRoute(app, revokeDeviceTokens, async (c) => {
    const mac = normaliseMac(c.req.param("mac"));
    const revoked = await tokens.revoke(mac);
    deps.logger.info("device tokens revoked", { mac_address: mac, revoked, correlationId: c.get("requestId") });
    return c.body(null, 204);
  });
  return app;
}

/**
 * Admin authentication as a plugin, chosen by its own settings: API token hashes, OIDC
 * (tokens of one issuer and audience), token hashes for /metrics and the device reads, and
 * the Host allowlist. With none of them set, the admin API is anonymous, as in the original.
 * The composition root (src/runtimes/root.ts) loads it beside the core's settings.
 */
import { defineAuthPlugin } from "../../core/auth/plugin.js";
import { createAuthPolicy } from "./policy.js";
import { AUTH_SETTINGS, adminAuthConfigured, loadAuthSettings, redactAuthSettings } from "./settings.js";

export const adminAuthPlugin = defineAuthPlugin({
  name: "auth",
  settings: AUTH_SETTINGS,
  load: loadAuthSettings,
  access: (settings) => ({
    adminCredentialsRequired: adminAuthConfigured(settings),
    allowAnonymousAdmin: settings.allowAnonymousAdmin,
  }),
  redact: redactAuthSettings,
  policy: (settings) => createAuthPolicy(settings),
});

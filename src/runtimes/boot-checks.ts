/**
 * What a filesystem runtime's boot (Node, Deno, Bun) can refuse, checked before it writes
 * anything: the data directories (apart, and each usable or creatable), the signing key
 * (read and imported, never generated), the sink NOTIFY_URL selects (its plugin, settings
 * and own check; not its connection) and API docs' files. The directories, the development
 * key and the storage's own folders are created only once all of this has passed, so a boot
 * refused for a setting leaves nothing on disk (issue 21). The composition root (root.ts)
 * runs the same steps again as it builds; they find nothing new then.
 */
import type { Logger } from "../core/logger.js";
import { type Env, type Settings, SettingsError } from "../core/settings.js";
import type { RuntimeInfo, SinkPlugin } from "../core/sinks/plugin.js";
import { SinkRegistry } from "../core/sinks/registry.js";
import { importVerificationKey, SigningKeyError } from "../features/assets/signing-key.js";
import { checkDataDirectories } from "./data-dirs.js";
import { findSigningKeyPem } from "./signing-key-file.js";

export interface BootCheckDeps {
  env: Env;
  logger: Logger;
  runtime: RuntimeInfo;
  plugins: readonly SinkPlugin[];
  /** Finds Swagger UI's files, refusing the boot when they are missing; asked only with API_DOCS on. */
  swaggerUi: () => Promise<unknown>;
}

/** In the order the boot would meet them, so a setup with two faults is told the same first one. */
export async function checkBeforeWriting(settings: Settings, deps: BootCheckDeps): Promise<void> {
  await checkDataDirectories(settings);
  const key = await findSigningKeyPem(settings);
  // Undefined: a development key will be generated, which needs no check.
  if (key) {
    await importVerificationKey(key.pem).catch((error: unknown) => {
      throw error instanceof SigningKeyError ? new SettingsError(key.variable, error.message) : error;
    });
  }
  await checkSink(settings, deps);
  if (settings.apiDocs) await deps.swaggerUi();
}

/** The registry's own checks before it would create the sink (SinkRegistry.check), without creating it. */
async function checkSink(settings: Settings, { env, logger, runtime, plugins }: BootCheckDeps): Promise<void> {
  const registry = new SinkRegistry(plugins);
  if (!settings.notifyUrl) {
    registry.checkAllSettings(env);
    registry.checkDemands(env, undefined);
    return;
  }
  await registry.check({ url: settings.notifyUrl, urlVariable: settings.notifyUrlVariable, env, logger, runtime });
}

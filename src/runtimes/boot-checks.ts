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
import { parseSettings } from "../core/setting-spec.js";
import { type Env, type Settings, SettingsError } from "../core/settings.js";
import { type RuntimeInfo, SinkConfigError, type SinkPlugin } from "../core/sinks/plugin.js";
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

/**
 * The registry's checks before it creates a sink (SinkRegistry.create), without creating it.
 * The capabilities a plugin requires are not checked: these runtimes have every one.
 */
async function checkSink(settings: Settings, { env, logger, runtime, plugins }: BootCheckDeps): Promise<void> {
  const registry = new SinkRegistry(plugins);
  registry.checkAllSettings(env);
  if (!settings.notifyUrl) {
    registry.checkDemands(env, undefined);
    return;
  }
  const url = settings.notifyUrl;
  const urlVariable = settings.notifyUrlVariable;
  const plugin = registry.pluginFor(url, urlVariable, runtime.leftOut);
  registry.checkDemands(env, plugin);
  const own = parseSettings(plugin.settings, env);
  try {
    await plugin.check?.({ url, urlVariable, settings: own, logger, runtime });
  } catch (error) {
    if (error instanceof SettingsError || error instanceof SinkConfigError) throw error;
    // As the registry words a plugin's own failure, so the line is the same whichever step meets it.
    const why = error instanceof Error ? error.message : String(error);
    throw new SinkConfigError(urlVariable, `the ${plugin.name} sink could not start: ${why}`);
  }
}

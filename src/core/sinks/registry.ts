/**
 * Scheme → plugin, and the one way a sink is built from the environment: the plugin's
 * own settings validated, the runtime checked against what the plugin needs, and any
 * failure turned into one line naming the variable at fault. An unknown scheme is an
 * error listing the known ones, never a silent fallback.
 */
import type { Logger } from "../logger.js";
import { type Env, parseSettings, SettingsError } from "../setting-spec.js";
import type { NotificationSink } from "./contract.js";
import { type Capability, type RuntimeInfo, SinkConfigError, type SinkPlugin } from "./plugin.js";

const CANNOT: Record<Capability, string> = {
  tcp: "needs raw TCP sockets, which %s cannot keep open",
  longLivedConnections: "needs a connection that outlives a request, which %s cannot keep",
  filesystem: "needs a filesystem, which %s does not have",
};

const isOwnError = (error: unknown) => error instanceof SettingsError || error instanceof SinkConfigError;

export interface SinkRequest {
  url: URL;
  urlVariable: string;
  env: Env;
  logger: Logger;
  runtime: RuntimeInfo;
}

export class SinkRegistry {
  readonly #plugins = new Map<string, SinkPlugin>();

  constructor(plugins: readonly SinkPlugin[] = []) {
    for (const plugin of plugins) this.register(plugin);
  }

  register(plugin: SinkPlugin): this {
    for (const scheme of plugin.schemes) {
      const existing = this.#plugins.get(scheme);
      if (existing) throw new Error(`scheme "${scheme}" is already registered by sink "${existing.name}"`);
      this.#plugins.set(scheme, plugin);
    }
    return this;
  }

  schemes(): string[] {
    return [...this.#plugins.keys()].sort();
  }

  plugins(): SinkPlugin[] {
    return [...new Set(this.#plugins.values())];
  }

  /** `leftOut`: the runtime's note on plugins its build does not carry (RuntimeInfo.leftOut). */
  pluginFor(url: URL, urlVariable: string, leftOut?: string): SinkPlugin {
    const scheme = url.protocol.replace(/:$/, "");
    const plugin = this.#plugins.get(scheme);
    if (!plugin) {
      const known = this.schemes()
        .map((s) => `${s}:`)
        .join(", ");
      throw new SinkConfigError(
        urlVariable,
        `unknown scheme "${scheme}:"; known schemes: ${known} (or leave it unset for no notifications)${leftOut ? `; ${leftOut}` : ""}`,
      );
    }
    return plugin;
  }

  /**
   * Validates every registered plugin's variables that are set, chosen or not: an invalid
   * value stops the boot whichever sink is selected (as it always has for MQTT_*).
   */
  checkAllSettings(env: Env): void {
    for (const plugin of this.plugins()) parseSettings(plugin.settings, env);
  }

  /**
   * Stops the boot on a variable asking for what only another plugin than the `chosen` one
   * (undefined: no sink at all) does (SinkPlugin.demands), naming it. Call after checkAllSettings.
   */
  checkDemands(env: Env, chosen: SinkPlugin | undefined): void {
    for (const plugin of this.plugins()) {
      if (plugin === chosen || !plugin.demands) continue;
      const demanding = plugin.demands(parseSettings(plugin.settings, env));
      if (!demanding) continue;
      const schemes = plugin.schemes.map((s) => `${s}://`).join(", ");
      const instead = chosen ? `the sink is ${chosen.name}` : "no sink is chosen (NOTIFY_URL is not set)";
      throw new SinkConfigError(demanding, `needs the ${plugin.name} sink (NOTIFY_URL ${schemes}), but ${instead}`);
    }
  }

  /**
   * Everything create() checks before it builds the sink: settings, scheme, demands, the
   * runtime's capabilities and the plugin's own check(). A boot calls it alone to refuse
   * before it writes anything; create() runs it first.
   */
  async check(request: SinkRequest): Promise<Checked> {
    const { url, urlVariable, runtime } = request;
    this.checkAllSettings(request.env);
    const plugin = this.pluginFor(url, urlVariable, runtime.leftOut);
    this.checkDemands(request.env, plugin);
    const settings = parseSettings(plugin.settings, request.env);
    let elsewhere: Checked["elsewhere"];
    for (const { capability, hint } of plugin.requires?.(url) ?? []) {
      if (runtime.capabilities.has(capability)) continue;
      if (capability === "longLivedConnections" && (runtime.hosted || runtime.perRequest)) {
        elsewhere = runtime.hosted ? "hosted" : "perRequest";
        continue;
      }
      const scheme = url.protocol.replace(/:$/, "");
      const problem = `${scheme}:// ${CANNOT[capability].replace("%s", runtime.name)}${hint ? `; ${hint}` : ""}`;
      throw new SinkConfigError(urlVariable, problem, { unsupported: true });
    }
    const context = { url, urlVariable, settings, logger: request.logger, runtime };
    /** Any error from the plugin becomes the one-line boot error; ours pass as they are. */
    const guarded = async <T>(step: () => T | Promise<T>): Promise<T> => {
      try {
        return await step();
      } catch (error) {
        if (isOwnError(error)) throw error;
        const why = error instanceof Error ? error.message : String(error);
        throw new SinkConfigError(urlVariable, `the ${plugin.name} sink could not start: ${why}`);
      }
    };
    // Also where the sink runs elsewhere (hosted, per request): a bad setting stops this boot, not a later publish.
    await guarded(() => plugin.check?.(context));
    return { plugin, settings, elsewhere, open: () => guarded(() => plugin.create(context)) };
  }

  /**
   * Builds the sink a URL selects, or stops with one line (SettingsError or SinkConfigError).
   * `hosted` says the sink only hands notifications to the runtime's host (RuntimeInfo.hosted),
   * where the plugin's own sink runs and is counted.
   */
  async create(
    request: SinkRequest,
  ): Promise<{ sink: NotificationSink; plugin: SinkPlugin; settings: object; hosted: boolean }> {
    const { runtime } = request;
    const { plugin, settings, elsewhere, open } = await this.check(request);
    if (elsewhere === "hosted" && runtime.hosted) {
      return { sink: runtime.hosted(plugin.name), plugin, settings, hosted: true };
    }
    if (elsewhere === "perRequest" && runtime.perRequest) {
      return { sink: runtime.perRequest(plugin.name, open), plugin, settings, hosted: false };
    }
    return { sink: await open(), plugin, settings, hosted: false };
  }
}

/** What check() found: the plugin, its settings, where its sink runs, and how to open it. */
interface Checked {
  plugin: SinkPlugin;
  settings: object;
  elsewhere: "hosted" | "perRequest" | undefined;
  open: () => Promise<NotificationSink>;
}

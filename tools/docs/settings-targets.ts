/**
 * Which generated settings table goes where: the README's, every setting the server reads
 * (the core's, the auth plugin's, each registered sink plugin's), and the plugin guide's,
 * the example plugin's own.
 */
import { CORE_SETTINGS } from "../../src/core/core-settings.js";
import { adminAuthPlugin } from "../../src/plugins/auth/index.js";
import { SINK_PLUGINS } from "../../src/plugins/sinks/index.js";
import { JSONL_SETTINGS } from "../../src/plugins/sinks/jsonl.example.js";
import { settingsSections, sinkSection } from "./settings-tables.js";

export interface SettingsTarget {
  /** Relative to the repository's root. */
  file: string;
  block: string;
  content(): string;
}

export const SETTINGS_TARGETS: readonly SettingsTarget[] = [
  {
    file: "README.md",
    block: "settings",
    content: () =>
      settingsSections([
        { title: "### Server", specs: CORE_SETTINGS },
        { title: '### Admin authentication (see "Securing the server")', specs: adminAuthPlugin.settings },
        ...SINK_PLUGINS.map(sinkSection),
      ]),
  },
  {
    file: "docs/plugins.md",
    block: "jsonl-settings",
    content: () => settingsSections([{ specs: JSONL_SETTINGS }]),
  },
];

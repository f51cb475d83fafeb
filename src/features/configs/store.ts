/**
 * The configs view of a storage driver: parse, validate and summarise `<mac>.json`
 * files, and list them at fleet size. Listing keeps a summary index (summary-index.ts)
 * so that 10,000 configs are not re-read and re-parsed for every list.
 */
import { AppError, notFound, payloadTooLarge, recordExists } from "../../core/errors.js";
import type { Logger } from "../../core/logger.js";
import { isMac, macOfConfigFile } from "../../core/names.js";
import { readAllBytes, rethrowOccupied, type StorageDriver, sha256Hex } from "../../core/storage.js";
import { createSummaryIndex } from "./summary-index.js";

export type ConfigContent = Record<string, unknown>;

export interface ConfigSummary {
  mac_address: string;
  device_name: string | null;
  device_entity_id: string | null;
  enable_ota: boolean | null;
}

export interface DeviceConfig extends ConfigSummary {
  content: ConfigContent;
}

const stringOrNull = (v: unknown) => (typeof v === "string" ? v : null);

export function toConfig(mac: string, content: ConfigContent): DeviceConfig {
  return {
    mac_address: mac,
    device_name: stringOrNull(content.deviceName),
    device_entity_id: stringOrNull(content.deviceEntityId),
    enable_ota: typeof content.enableOTA === "boolean" ? content.enableOTA : null,
    content,
  };
}

export function toSummary(config: DeviceConfig): ConfigSummary {
  const { content: _content, ...summary } = config;
  return summary;
}

const configFile = (mac: string) => `${mac}.json`;

const isPlainObject = (v: unknown): v is ConfigContent => typeof v === "object" && v !== null && !Array.isArray(v);

class CorruptConfigError extends Error {
  readonly code = "CORRUPT_CONFIG";
}

function parseContent(bytes: Uint8Array, mac: string): ConfigContent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (error) {
    throw new CorruptConfigError(`config ${mac} is not valid JSON`, { cause: error });
  }
  if (!isPlainObject(parsed)) throw new CorruptConfigError(`config ${mac} is not a JSON object`);
  return parsed;
}

/** What devices are told about a stored file, so they can skip a fetch and check what they fetched. */
export interface StoredFacts {
  sha256: string;
  size: number;
  /** The strong ETag a device read answers with. */
  etag: string;
}

export interface ConfigStore {
  /** Every readable config's summary, sorted by MAC. */
  list(): Promise<ConfigSummary[]>;
  /**
   * The listing as the API sends it, `{"configs": [...], "count": n}`, serialised. Kept
   * between requests while nothing in the directory changed: a fleet-sized listing is
   * then one cached string, not ten thousand summaries serialised again.
   */
  listJson(): Promise<{ body: Uint8Array; count: number }>;
  get(mac: string): Promise<DeviceConfig>;
  save(
    mac: string,
    content: ConfigContent,
    allowOverwrite: boolean,
  ): Promise<{ config: DeviceConfig; created: boolean; stored: StoredFacts }>;
  remove(mac: string): Promise<void>;
}

/** Reads at most this many config files at once while listing, to bound open file handles. */
const LIST_CONCURRENCY = 16;

/**
 * `maxBytes` bounds both ways: nothing larger is written, and a larger file placed in the
 * directory by something else is treated as unreadable rather than parsed into memory.
 */
export function createConfigStore(driver: StorageDriver, logger: Logger, maxBytes: number): ConfigStore {
  const index = createSummaryIndex(driver);
  let listed: { body: Uint8Array; count: number; changes: number; at: number } | undefined;
  const assertMac = (mac: string) => {
    // Routes normalise first; this guards every other caller, so no name escapes the area.
    if (!isMac(mac)) throw new AppError("INVALID_OPERATION", "Invalid MAC address format");
  };

  const load = async (mac: string): Promise<ConfigContent | null> => {
    const object = await driver.read("configs", configFile(mac));
    if (!object) return null;
    if (object.size > maxBytes) {
      if (!object.bytes) await object.body.cancel();
      throw new CorruptConfigError(`config ${mac} is larger than MAX_CONFIG_BYTES (${object.size} bytes)`);
    }
    return parseContent(object.bytes ?? (await readAllBytes(object.body)), mac);
  };

  const store: ConfigStore = {
    async listJson() {
      if (listed && listed.changes === index.changes() && index.fresh(listed.at)) return listed;
      // Taken before reading: a change during the listing makes the result stale at once.
      const [changes, at] = [index.changes(), index.now()];
      const summaries = await store.list();
      listed = {
        // Kept as bytes: encoding a fleet's listing again for every request cost as much as sending it.
        body: new TextEncoder().encode(JSON.stringify({ configs: summaries, count: summaries.length })),
        count: summaries.length,
        changes,
        at,
      };
      return listed;
    },

    async list() {
      const names = (await driver.list("configs")).filter((name) => macOfConfigFile(name) !== undefined).sort();
      const summaries: Array<ConfigSummary | null> = new Array(names.length).fill(null);
      const missing: number[] = [];
      names.forEach((name, i) => {
        const known = index.get(name);
        if (known === undefined) missing.push(i);
        else summaries[i] = known;
      });
      let next = 0;
      const worker = async () => {
        while (next < missing.length) {
          const i = missing[next++] as number;
          const name = names[i] as string;
          const mac = macOfConfigFile(name) as string;
          const readAt = index.version();
          try {
            const content = await load(mac);
            const summary = content ? toSummary(toConfig(mac, content)) : null;
            summaries[i] = summary;
            index.set(name, summary, readAt);
          } catch (error) {
            if (!(error instanceof CorruptConfigError)) throw error;
            // One bad file must never fail the listing; say which one, once per version of it.
            logger.warn("skipping unreadable config file", { mac_address: mac, reason: error.message });
            index.set(name, null, readAt);
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(LIST_CONCURRENCY, missing.length) }, worker));
      return summaries.filter((s): s is ConfigSummary => s !== null);
    },

    async get(mac) {
      assertMac(mac);
      let content: ConfigContent | null;
      try {
        content = await load(mac);
      } catch (error) {
        if (error instanceof CorruptConfigError) {
          throw new AppError("INTERNAL_ERROR", `Stored configuration for ${mac} is corrupt`, { cause: error });
        }
        throw error;
      }
      if (!content) throw notFound(`Configuration for ${mac} not found`, { mac_address: mac });
      return toConfig(mac, content);
    },

    async save(mac, content, allowOverwrite) {
      assertMac(mac);
      const bytes = new TextEncoder().encode(JSON.stringify(content, null, 2));
      // The route checks the stored size before serialising; this guards every other caller.
      if (bytes.length > maxBytes) throw payloadTooLarge(maxBytes);
      const outcome = await driver
        .write("configs", configFile(mac), bytes, { ifAbsent: !allowOverwrite })
        .catch((error: unknown) => rethrowOccupied(error, { mac_address: mac }));
      if (outcome === "exists") {
        throw recordExists(`Configuration for ${mac} already exists and allow_overwrite is false`, {
          mac_address: mac,
        });
      }
      const sha256 = await sha256Hex(bytes);
      return {
        config: toConfig(mac, content),
        created: outcome === "created",
        stored: { sha256, size: bytes.length, etag: `"${sha256}"` },
      };
    },

    async remove(mac) {
      assertMac(mac);
      if (!(await driver.remove("configs", configFile(mac)))) {
        throw notFound(`Configuration for ${mac} not found`, { mac_address: mac });
      }
    },
  };
  return store;
}

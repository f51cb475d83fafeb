/**
 * The storage plugin interface, and the typed views (configs, assets) the routes use.
 *
 * A driver is a small blob store over two areas laid out like the device-facing
 * directories: `configs/<mac>.json` and `assets/<name>`. It is deliberately small so
 * that an object store (R2) can implement it: read, atomic write, staged (streamed)
 * write, remove, list, and a health check.
 *
 * Checks that are the same for every driver (name validation, JSON parsing,
 * summaries) live here once, not in each driver.
 */
import { AppError, notFound, payloadTooLarge, recordExists } from "./errors.js";
import type { Logger } from "./logger.js";
import { checkFilename, isMac, macOfConfigFile } from "./names.js";

export type Area = "configs" | "assets";

export interface ObjectMeta {
  /** Size of the whole object, even when only a range is read. */
  size: number;
  lastModified: Date;
  /** SHA-256 of the whole object, lower-case hex: the strong ETag of the device-facing reads. */
  sha256: string;
}

export interface StoredObject extends ObjectMeta {
  /** The object's bytes, or only the requested range. Pulled lazily; cancel it if unused. */
  body: ReadableStream<Uint8Array>;
  /** The same bytes, when the driver already holds them in memory (small files): cheaper to send. */
  bytes?: Uint8Array;
}

/** A byte range already checked against the object's size by the caller. */
export interface ByteRange {
  offset: number;
  length: number;
}

export interface ReadOptions {
  range?: ByteRange;
}

/** `created`: no object existed; `replaced`: one was overwritten; `exists`: refused because one exists. */
export type WriteOutcome = "created" | "replaced" | "exists";

/** A streamed write that becomes visible all at once on `commit`, or leaves nothing on `abort`. */
export interface StagedWrite {
  write(chunk: Uint8Array): Promise<void>;
  /**
   * SHA-256 (lower-case hex) of everything written, hashed as it streamed, so checking a
   * content-bound signature costs no second read. Ends the writing: call it after the last write.
   */
  digest(): Promise<string>;
  commit(): Promise<{ outcome: Exclude<WriteOutcome, "exists">; size: number }>;
  abort(): Promise<void>;
}

export interface StorageDriver {
  readonly name: string;
  /** The object, or null when absent. The body must be consumed or cancelled. */
  read(area: Area, name: string, options?: ReadOptions): Promise<StoredObject | null>;
  /** Atomic write of a whole object. With `ifAbsent`, exactly one of concurrent creators wins. */
  write(area: Area, name: string, data: Uint8Array, options?: { ifAbsent?: boolean }): Promise<WriteOutcome>;
  /** Starts a streamed write; memory use must not grow with the object's size. */
  stage(area: Area, name: string): Promise<StagedWrite>;
  /** True when something was removed. */
  remove(area: Area, name: string): Promise<boolean>;
  /** Object names in the area, in no particular order. */
  list(area: Area): Promise<string[]>;
  /**
   * Records a one-time `key` (lower-case hex, e.g. the hash of a used upload signature)
   * with a create-only marker: true when this call recorded it, false when it was already
   * recorded. Exactly one of concurrent callers gets true, across every process or isolate
   * sharing the storage. Markers older than `retainSeconds` may be forgotten.
   */
  claimOnce(key: string, retainSeconds: number): Promise<boolean>;
  /** Forgets a marker made by `claimOnce` (its upload failed after the claim, so a retry must not be refused). */
  releaseClaim(key: string): Promise<void>;
  /** Throws a STORAGE_UNAVAILABLE AppError (reason without server paths) when unusable. */
  check(): Promise<void>;
  dispose?(): Promise<void>;
}

export const toHex = (bytes: ArrayBuffer | Uint8Array): string =>
  Array.from(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join(
    "",
  );

/** SHA-256 of a whole buffer with Web Crypto (for small objects; streamed writes hash incrementally). */
export async function sha256Hex(data: Uint8Array): Promise<string> {
  return toHex(await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>));
}

export const storageUnavailable = (reason: string, cause?: unknown) =>
  new AppError("STORAGE_UNAVAILABLE", `Storage unavailable: ${reason}`, { details: { reason }, cause });

export const storageFull = (cause?: unknown) =>
  new AppError("STORAGE_FULL", "Storage is full: nothing was stored; free space on the server and retry", { cause });

/** Keys of one-time markers: hex digests only, so a key can never name a path or an object elsewhere. */
export const CLAIM_KEY = /^[0-9a-f]{16,128}$/;

// --- typed views -----------------------------------------------------------

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

/** How many config files the driver holds (names only, nothing is read). */
export async function countConfigFiles(driver: StorageDriver): Promise<number> {
  return (await driver.list("configs")).filter((name) => macOfConfigFile(name) !== undefined).length;
}

export async function readAllBytes(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
    chunks.push(chunk);
    total += chunk.byteLength;
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

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
  list(): Promise<DeviceConfig[]>;
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

  return {
    async list() {
      const macs = (await driver.list("configs"))
        .map(macOfConfigFile)
        .filter((mac): mac is string => mac !== undefined)
        .sort();
      const configs: Array<DeviceConfig | null> = new Array(macs.length).fill(null);
      let next = 0;
      const worker = async () => {
        while (next < macs.length) {
          const index = next++;
          const mac = macs[index] as string;
          try {
            const content = await load(mac);
            if (content) configs[index] = toConfig(mac, content);
          } catch (error) {
            if (!(error instanceof CorruptConfigError)) throw error;
            // One bad file must never fail the listing; say which one, once.
            logger.warn("skipping unreadable config file", { mac_address: mac, reason: error.message });
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(LIST_CONCURRENCY, macs.length) }, worker));
      return configs.filter((c): c is DeviceConfig => c !== null);
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
      const outcome = await driver.write("configs", configFile(mac), bytes, { ifAbsent: !allowOverwrite });
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
}

export interface AssetStore {
  /** Starts the streamed write of an asset, stored under the NFC form of `name`. */
  stage(name: string): Promise<StagedWrite>;
  /** One-time use of upload signatures: true when this call recorded `key`. */
  claimSignature(key: string, retainSeconds: number): Promise<boolean>;
  releaseSignature(key: string): Promise<void>;
}

export function createAssetStore(driver: StorageDriver): AssetStore {
  return {
    // Checked here too, not only by the route, so no caller can write outside the area.
    stage: async (name) => driver.stage("assets", checkFilename(name)),
    claimSignature: (key, retainSeconds) => driver.claimOnce(key, retainSeconds),
    releaseSignature: (key) => driver.releaseClaim(key),
  };
}

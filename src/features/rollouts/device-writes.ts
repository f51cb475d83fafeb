/**
 * What a release and a rollback do to one device, shared by both: read its config's current
 * bytes and ETag straight from the storage driver (so the ETag is exact, not a cached one),
 * and save a config exactly as `PUT /api/configs/{mac}` does — the config store's save, the
 * notification with the stored bytes' facts, the save metric (and the config count when the
 * file was gone). Also the heartbeat a process doing such work keeps writing, so others can
 * tell it still lives.
 */
import type { Logger } from "../../core/logger.js";
import { errorFields } from "../../core/logger.js";
import type { Notifier } from "../../core/notifier.js";
import { type OperationObserver, secondsSince } from "../../core/observer.js";
import { readAllBytes, type StorageDriver } from "../../core/storage.js";
import type { ConfigContent, ConfigStore } from "../configs/store.js";
import type { RolloutLog } from "./rollout-log.js";
import type { Definition } from "./rollout-records.js";

/** How often the process doing a release or rollback rewrites its heartbeat. */
export const HEARTBEAT_MS = 2000;
/** Work whose heartbeat is older than this is taken over by another process. */
export const STALE_WORK_MS = 10_000;
/** Devices read or saved at once. */
export const DEVICE_CONCURRENCY = 24;

export interface WorkContext {
  log: RolloutLog;
  storage: StorageDriver;
  configs: ConfigStore;
  notifier: Notifier;
  observer: Pick<OperationObserver, "configOperation" | "configFilesChanged">;
  logger: Logger;
  maxConfigBytes: number;
  /** RFC 7386 merge patch (merge-patch.ts): a new object, inputs untouched. */
  mergePatch: (target: Record<string, unknown>, patch: Record<string, unknown>) => Record<string, unknown>;
  processId: string;
  now: () => number;
}

export type Current =
  | { ok: true; content: ConfigContent; etag: string }
  | { ok: false; error: string; etag: string | null };

const isObject = (v: unknown): v is ConfigContent => typeof v === "object" && v !== null && !Array.isArray(v);

/** The config's content and ETag now, or why it cannot be released (its ETag still, when it exists). */
export async function readCurrent(ctx: WorkContext, mac: string): Promise<Current> {
  const object = await ctx.storage.read("configs", `${mac}.json`);
  if (!object) return { ok: false, error: "config deleted since the rollout was created", etag: null };
  const etag = `"${object.sha256}"`;
  if (object.size > ctx.maxConfigBytes) {
    if (!object.bytes) await object.body.cancel();
    return { ok: false, error: "stored config is larger than MAX_CONFIG_BYTES", etag };
  }
  const bytes = object.bytes ?? (await readAllBytes(object.body));
  try {
    const content: unknown = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    if (isObject(content)) return { ok: true, content, etag };
  } catch {
    // Said in the row's error below: a config the server cannot parse is not released.
  }
  return { ok: false, error: "stored config is not a JSON object", etag };
}

/** The ETag a device read answers for `content` once saved (the config store writes two-space JSON). */
export async function etagOf(content: ConfigContent): Promise<{ etag: string; bytes: number }> {
  const bytes = new TextEncoder().encode(JSON.stringify(content, null, 2));
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return {
    etag: `"${Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("")}"`,
    bytes: bytes.length,
  };
}

/** Saves as PUT /api/configs/{mac} does; false (logged) when the save failed. */
export async function saveConfig(ctx: WorkContext, mac: string, content: ConfigContent, why: string): Promise<boolean> {
  const start = performance.now();
  let status: "success" | "error" = "error";
  try {
    const { created, stored } = await ctx.configs.save(mac, content, true);
    status = "success";
    if (created) ctx.observer.configFilesChanged(1);
    ctx.notifier.configSaved(mac, stored);
    return true;
  } catch (error) {
    ctx.logger.warn(`could not save a config during a ${why}`, { mac_address: mac, ...errorFields(error) });
    return false;
  } finally {
    ctx.observer.configOperation("save", status, secondsSince(start));
  }
}

/** Runs `work` over `items`, `DEVICE_CONCURRENCY` at once; `work` answers false to stop taking new items. */
export async function eachLimited<T>(
  items: readonly T[],
  work: (item: T, index: number) => Promise<boolean | undefined>,
) {
  let next = 0;
  let stop = false;
  const worker = async () => {
    while (!stop && next < items.length) {
      const i = next++;
      if ((await work(items[i] as T, i)) === false) stop = true;
    }
  };
  await Promise.all(Array.from({ length: Math.min(DEVICE_CONCURRENCY, items.length) }, worker));
  return !stop;
}

/** Writes the heartbeat of work claimed by event `seq` now and every HEARTBEAT_MS until the returned stop is called. */
export function keepHeartbeat(ctx: WorkContext, def: Definition, seq: number): () => void {
  const beat = () =>
    ctx.log.heartbeat(def, { by: ctx.processId, at: ctx.now(), seq }).catch((error: unknown) => {
      // Missed beats only let another process take the work over sooner; the work goes on.
      ctx.logger.warn("could not write a rollout heartbeat", { rollout_id: String(def.id), ...errorFields(error) });
    });
  void beat();
  const timer = setInterval(() => void beat(), HEARTBEAT_MS);
  (timer as { unref?: () => void }).unref?.();
  return () => clearInterval(timer);
}

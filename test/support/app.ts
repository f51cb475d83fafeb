/**
 * Builds the real app in-process for route tests: real storage (filesystem in a
 * fresh temporary directory, or memory), a real key, a recording sink and a
 * memory logger. `app.request()` needs no server.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Registry } from "prom-client";
import { compose } from "../../src/core/compose.js";
import { createMemoryLogger } from "../../src/core/logger.js";
import type { Settings } from "../../src/core/settings.js";
import type { Notification, NotificationSink } from "../../src/core/sinks/contract.js";
import type { StorageDriver } from "../../src/core/storage.js";
import { importVerificationKey } from "../../src/features/assets/signing-key.js";
import { adminAuthPlugin } from "../../src/plugins/auth/index.js";
import { selectApiDocs } from "../../src/plugins/docs/index.js";
import { locateSwaggerUi, packageFiles } from "../../src/plugins/docs/package-files.js";
import { createMetrics } from "../../src/plugins/metrics/index.js";
import { createFsStorage } from "../../src/plugins/storage/fs.js";
import { createMemoryStorage } from "../../src/plugins/storage/memory.js";
import { loadSettingsWith } from "../../src/runtimes/root.js";
import { testKeys } from "./keys.js";
import { freshTimestamp } from "./upload-stream.js";

/**
 * A sink that records what it was asked to publish. It stands in for a broker
 * only in route tests, which check *when* notifications are sent; delivery itself
 * is tested against a real Mosquitto.
 */
export function createRecordingSink(): NotificationSink & { published: Notification[] } {
  const published: Notification[] = [];
  return {
    name: "recording",
    published,
    async publish(n) {
      published.push(n);
    },
    status: () => ({ ready: true, queueDepth: 0 }),
    async close() {},
  };
}

export type StorageKind = "fs" | "memory";

export interface TestApp {
  app: ReturnType<typeof compose>["app"];
  /** The runtimes' fast path for cached config reads, as composed with this app. */
  fastReads: ReturnType<typeof compose>["fastReads"];
  /** Everything the app was composed with (the fleet records, to close them as a runtime's shutdown does). */
  deps: ReturnType<typeof compose>["deps"];
  storage: StorageDriver;
  sink: ReturnType<typeof createRecordingSink>;
  logger: ReturnType<typeof createMemoryLogger>;
  registry: Registry;
  settings: Settings;
  /** Root of the temporary data directory (fs storage only). */
  root?: string;
  sign(message: string): string;
  cleanup(): Promise<void>;
}

export async function createTestApp(kind: StorageKind = "fs", env: Record<string, string> = {}): Promise<TestApp> {
  const root = kind === "fs" ? await mkdtemp(join(tmpdir(), "iot-test-")) : undefined;
  try {
    return await assemble(kind, env, root);
  } catch (error) {
    // Invalid settings are a test case too: the folder goes, and the error is the test's to see.
    if (root) await rm(root, { recursive: true, force: true });
    throw error;
  }
}

async function assemble(kind: StorageKind, env: Record<string, string>, root: string | undefined): Promise<TestApp> {
  const { settings, auth } = loadSettingsWith({ DATA_DIR: root ?? "/nonexistent", ...env }, adminAuthPlugin);
  const logger = createMemoryLogger();
  const storage =
    kind === "fs"
      ? await createFsStorage({
          configsDir: settings.configsDir,
          assetsDir: settings.assetsDir,
          stateDir: settings.stateDir,
          logger,
        })
      : createMemoryStorage();
  const keys = testKeys();
  const sink = createRecordingSink();
  const registry = new Registry();
  const metrics = createMetrics(registry);
  const { app, fastReads, deps } = compose({
    settings,
    auth: adminAuthPlugin.policy(auth),
    logger,
    storage,
    sink,
    observer: metrics.observer,
    verifyKey: await importVerificationKey(keys.pkcs8),
    version: "test",
    metrics: metrics.exposition,
    docs: await selectApiDocs(settings, "test", async () => packageFiles((await locateSwaggerUi()) as string)),
  });
  return {
    app,
    fastReads,
    deps,
    storage,
    sink,
    logger,
    registry,
    settings,
    root,
    sign: keys.sign,
    async cleanup() {
      // As a runtime's shutdown does: rollout work finishes, the fetches in memory are written, then the folder goes.
      await deps.rollouts.close();
      await deps.fleet.records.close();
      if (root) await rm(root, { recursive: true, force: true });
    },
  };
}

/** Builds a multipart body by hand so tests control part order, names and bytes exactly. */
export function multipart(
  parts: Array<{ name: string; value: string | Uint8Array; filename?: string; contentType?: string }>,
  boundary = "----iotsupport-test-boundary",
): { body: Uint8Array<ArrayBuffer>; contentType: string } {
  const enc = new TextEncoder();
  const chunks: Uint8Array[] = [];
  for (const part of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"`;
    if (part.filename !== undefined) head += `; filename="${part.filename.replace(/"/g, "%22")}"`;
    head += "\r\n";
    if (part.contentType) head += `Content-Type: ${part.contentType}\r\n`;
    head += "\r\n";
    chunks.push(
      enc.encode(head),
      typeof part.value === "string" ? enc.encode(part.value) : part.value,
      enc.encode("\r\n"),
    );
  }
  chunks.push(enc.encode(`--${boundary}--\r\n`));
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const body = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    body.set(c, offset);
    offset += c.length;
  }
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}

/** A signed upload body for `filename` with the current time. */
export function signedUpload(
  t: Pick<TestApp, "sign">,
  filename: string,
  content: string | Uint8Array = "firmware-bytes",
) {
  const timestamp = freshTimestamp();
  return multipart([
    { name: "timestamp", value: timestamp },
    { name: "signature", value: t.sign(timestamp) },
    { name: "file", value: content, filename, contentType: "application/octet-stream" },
  ]);
}

/** POST /api/assets: signed, streamed asset upload, at most MAX_CONCURRENT_UPLOADS at once. */
import { Hono } from "hono";
import type { AppDeps, AppEnv } from "../deps.js";
import { AppError, payloadTooLarge, validationFailed } from "../errors.js";
import { boundaryOf } from "../multipart.js";
import { handleUpload, type UploadDeps } from "../upload.js";

/** Seconds a refused client is told to wait: about how long a typical firmware upload takes on a LAN. */
const RETRY_AFTER_SECONDS = 5;

export function assetRoutes(deps: AppDeps) {
  const max = deps.limits.maxUploadBytes;
  const uploadDeps: UploadDeps = {
    assets: deps.assets,
    observer: deps.observer,
    logger: deps.logger,
    verifyKey: deps.verifyKey,
    toleranceSeconds: deps.limits.timestampToleranceSeconds,
    maxBytes: max,
    idleMs: deps.limits.idleTimeoutMs,
    minVersion: deps.signatures.minVersion,
    allowReuse: deps.signatures.allowReuse,
    refusedBodies: deps.refusedBodies ?? "background",
    now: deps.now ?? Date.now,
  };
  // Uploads in progress in this process (this isolate, on Workers): each holds a staged
  // file and a connection, so a flood of slow ones must not exhaust either.
  let active = 0;

  return new Hono<AppEnv>().post("/", async (c) => {
    // A declared length over the limit is refused before a byte of the body is read.
    const declared = c.req.header("content-length");
    if (declared !== undefined && /^\d+$/.test(declared) && Number(declared) > max) {
      deps.observer.assetUpload("error", "validation", 0);
      throw payloadTooLarge(max);
    }
    const boundary = boundaryOf(c.req.header("content-type"));
    if (!boundary) {
      deps.observer.assetUpload("error", "validation", 0);
      throw validationFailed("Request must be multipart/form-data with fields file, timestamp and signature", {
        field: "file",
      });
    }
    if (active >= deps.limits.maxConcurrentUploads) {
      deps.observer.assetUpload("error", "unknown", 0);
      throw new AppError(
        "SERVER_BUSY",
        `Too many uploads in progress (at most ${deps.limits.maxConcurrentUploads}); retry in a few seconds`,
        {
          details: { max_concurrent_uploads: deps.limits.maxConcurrentUploads },
          headers: { "Retry-After": String(RETRY_AFTER_SECONDS) },
        },
      );
    }
    active++;
    try {
      const { body, sha256 } = await handleUpload(uploadDeps, c.req.raw.body, boundary);
      deps.notifier.assetUploaded(body.filename, { sha256, size: body.size, etag: `"${sha256}"` });
      return c.json(body, 200);
    } finally {
      active--;
    }
  });
}

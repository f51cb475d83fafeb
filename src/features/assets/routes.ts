/**
 * POST /api/assets: signed, streamed asset upload, at most MAX_CONCURRENT_UPLOADS at once,
 * and at most MAX_UPLOADS_PER_CLIENT from one address until their signatures are verified
 * (core/body-slots.ts).
 */
import { addRoute, createApi } from "../../core/api-routes.js";
import type { AppDeps } from "../../core/deps.js";
import { payloadTooLarge, validationFailed } from "../../core/errors.js";
import { createBodySlots, type Slot } from "../request-limits/body-slots.js";
import { boundaryOf } from "./multipart.js";
import { uploadAsset } from "./schemas.js";
import { handleUpload, type UploadDeps } from "./upload.js";

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
    minBytesPerSecond: deps.limits.minBytesPerSecond,
    minVersion: deps.signatures.minVersion,
    allowReuse: deps.signatures.allowReuse,
    refusedBodies: deps.refusedBodies ?? "background",
    now: deps.now ?? Date.now,
  };
  // Uploads in progress in this process (this isolate, on Workers): each holds a staged
  // file and a connection, so a flood of slow ones must not exhaust either.
  const slots = createBodySlots(
    { total: deps.limits.maxConcurrentUploads, perClient: deps.limits.maxUploadsPerClient },
    "uploads",
  );

  return addRoute(createApi(), uploadAsset, async (c) => {
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
    let slot: Slot;
    try {
      slot = slots.acquire(deps.clientAddress?.(c));
    } catch (error) {
      deps.observer.assetUpload("error", "unknown", 0);
      throw error;
    }
    try {
      const { body, sha256 } = await handleUpload(uploadDeps, c.req.raw.body, boundary, slot);
      deps.notifier.assetUploaded(body.filename, { sha256, size: body.size, etag: `"${sha256}"` });
      return c.json(body, 200);
    } finally {
      slot.release();
    }
  });
}

/** POST /api/assets: signed, streamed asset upload. */
import { Hono } from "hono";
import type { AppDeps, AppEnv } from "../deps.js";
import { payloadTooLarge, validationFailed } from "../errors.js";
import { boundaryOf } from "../multipart.js";
import { handleUpload } from "../upload.js";

export function assetRoutes(deps: AppDeps) {
  const now = deps.now ?? Date.now;
  return new Hono<AppEnv>().post("/", async (c) => {
    const max = deps.limits.maxUploadBytes;
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
    const result = await handleUpload(
      {
        assets: deps.assets,
        observer: deps.observer,
        verifyKey: deps.verifyKey,
        toleranceSeconds: deps.limits.timestampToleranceSeconds,
        maxBytes: max,
        now,
      },
      c.req.raw.body,
      boundary,
    );
    deps.notifier.assetUploaded(result.filename);
    return c.json(result, 200);
  });
}

/**
 * R2 storage driver (Cloudflare Workers). Objects are laid out like the directories of
 * the filesystem driver: `configs/<mac>.json` and `assets/<name>`. Every object carries
 * the SHA-256 of its bytes in `customMetadata.sha256` (also given to R2 as `sha256`,
 * which R2 verifies on upload and keeps in `checksums.sha256`), so a device read
 * knows its strong ETag without hashing.
 *
 * How atomicity differs from the filesystem driver (temporary file + fsync + rename/link):
 * - Whole-object writes are single PUTs. R2 makes an object visible all at once and is
 *   strongly consistent (read-after-write, last writer wins), so readers never see a
 *   partial object and concurrent writers never interleave, as with rename.
 * - Create-only (`ifAbsent`) is a conditional PUT with `onlyIf: { etagDoesNotMatch: "*" }`
 *   (If-None-Match: *), which R2 checks and applies as one step: exactly one of
 *   concurrent creators wins, like link(2). Verified here against workerd's local R2
 *   (miniflare), not against the hosted service (no account in this environment).
 * - "created" vs "replaced" comes from the same conditional PUT (a second,
 *   unconditional PUT replaces), so it is exact for concurrent writers too. An
 *   overwrite therefore costs two PUTs.
 * - Staged (streamed) writes: R2 cannot PUT a stream of unknown length, and the hash is
 *   known only at the end. Bytes are buffered one part at a time (`partBytes`, 5 MiB by
 *   default: R2's minimum part size), so memory is bounded by one part, whatever the
 *   size. An upload that fits in one part is PUT directly on commit. A larger one goes
 *   to a multipart upload under a temporary key (`.iotsupport-staging/<uuid>`, outside
 *   `configs/` and `assets/`, never listed); commit completes it, copies it to the final
 *   key with the hash (one streamed PUT; R2 re-verifies the hash), then deletes the
 *   temporary object; abort aborts the multipart upload. Unlike rename(2) the copy
 *   re-writes the bytes: a big upload costs twice its size in writes.
 * - Leftovers: a Worker killed between "complete" and "delete" leaves a temporary
 *   object; one killed mid-upload leaves an unfinished multipart upload (R2 aborts those
 *   after 7 days). Nothing sweeps them at start (there is no start on Workers); a lifecycle
 *   rule does: `wrangler r2 bucket lifecycle add <bucket> staging .iotsupport-staging/
 *   --expire-days 1 --abort-multipart-days 1`.
 * - `remove` reports whether something was removed from a HEAD before the DELETE
 *   (R2 has no conditional delete): two concurrent deletes may both report true.
 * - There are no directories to lose: `check()` is one HEAD request.
 */
import { createHash } from "node:crypto";
import type {
  R2Bucket,
  R2MultipartUpload,
  R2Object,
  R2ObjectBody,
  R2PutOptions,
  R2UploadedPart,
} from "@cloudflare/workers-types/2023-07-01/index.js";
import { errorFields, type Logger } from "../../core/logger.js";
import {
  type Area,
  type ReadOptions,
  type StagedWrite,
  type StorageDriver,
  type StoredObject,
  sha256Hex,
  storageUnavailable,
  type WriteOutcome,
} from "../../core/storage.js";
import { createR2Ledger } from "./r2-ledger.js";
import { hexOf, partBuffer } from "./r2-parts.js";
import { createR2State } from "./r2-state.js";

export interface R2StorageOptions {
  bucket: R2Bucket;
  logger: Logger;
  /** Part size of staged writes: the most memory one upload holds. R2 needs ≥ 5 MiB (all parts but the last). */
  partBytes?: number;
  /** Page size of listings (R2 returns at most 1000 keys per call). */
  listPageSize?: number;
  /** Wall clock (ms since the epoch) for the expiry of one-time markers (tests step it); Date.now by default. */
  wallClock?: () => number;
}

export const STAGING_PREFIX = ".iotsupport-staging/";
const MIN_PART_BYTES = 5 * 1024 * 1024;
/** Objects up to this size are read into memory at once: a buffer is cheaper to send than a stream. */
const SMALL_OBJECT_BYTES = 64 * 1024;
/** Hashes computed for objects written without one (e.g. by `wrangler r2 object put`), per isolate. */
const HASH_CACHE_LIMIT = 1000;
/** Both conditions are what R2 spells `If-None-Match: *`: applies only when no object exists. */
const IF_ABSENT = { etagDoesNotMatch: "*" } as const;

type Bytes = Uint8Array<ArrayBuffer>;

const keyOf = (area: Area, name: string) => `${area}/${name}`;
const streamOf = (bytes: Uint8Array): ReadableStream<Uint8Array> =>
  new ReadableStream({
    start(controller) {
      if (bytes.byteLength > 0) controller.enqueue(bytes);
      controller.close();
    },
  });

function putOptions(area: Area, sha256: string): R2PutOptions {
  return {
    customMetadata: { sha256 },
    sha256,
    // For anyone serving the bucket directly (a public bucket or a custom domain).
    ...(area === "configs" ? { httpMetadata: { contentType: "application/json" } } : {}),
  };
}

export function createR2Storage(options: R2StorageOptions): StorageDriver {
  const { bucket, logger } = options;
  const partBytes = options.partBytes ?? MIN_PART_BYTES;
  const listPageSize = options.listPageSize ?? 1000;
  const hashes = new Map<string, { version: string; sha256: string }>();
  const ledger = createR2Ledger(bucket, logger, options.wallClock);

  /** SHA-256 of an object that was written without one: streamed, so memory stays flat. */
  const hashOf = async (object: R2Object): Promise<string> => {
    const known = object.customMetadata?.sha256 ?? hexOf(object.checksums.sha256);
    if (known) return known;
    const cached = hashes.get(object.key);
    if (cached?.version === object.version) return cached.sha256;
    const whole = await bucket.get(object.key, { onlyIf: { etagMatches: object.etag } });
    if (!whole || !("body" in whole)) throw new Error(`object ${object.key} changed while it was being hashed`);
    const hash = createHash("sha256");
    for await (const chunk of whole.body as unknown as AsyncIterable<Uint8Array>) hash.update(chunk);
    const sha256 = hash.digest("hex");
    logger.info("hashed an object stored without a sha256", { key: object.key, size: object.size });
    hashes.delete(object.key);
    hashes.set(object.key, { version: object.version, sha256 });
    if (hashes.size > HASH_CACHE_LIMIT) hashes.delete(hashes.keys().next().value as string);
    return sha256;
  };

  /** PUT that creates, or (unless `ifAbsent`) replaces; the outcome is exact even for concurrent writers. */
  const putBytes = async (
    area: Area,
    name: string,
    data: Bytes,
    sha256: string,
    ifAbsent: boolean,
  ): Promise<WriteOutcome> => {
    const key = keyOf(area, name);
    const options = putOptions(area, sha256);
    if (await bucket.put(key, data, { ...options, onlyIf: IF_ABSENT })) return "created";
    if (ifAbsent) return "exists";
    await bucket.put(key, data, options);
    return "replaced";
  };

  /** Cleanup after a failure or a copy: logged when it fails, never hiding the error that led here. */
  const cleanUp = async (key: string, action: () => Promise<void>) => {
    try {
      await action();
    } catch (error) {
      logger.warn("could not clean up a staged upload; a lifecycle rule on the staging prefix removes it", {
        key,
        ...errorFields(error),
      });
    }
  };

  return {
    name: "r2",

    async read(area, name, readOptions: ReadOptions = {}) {
      const { range } = readOptions;
      const object = (await bucket.get(keyOf(area, name), range ? { range } : undefined)) as R2ObjectBody | null;
      if (!object) return null;
      let sha256: string;
      try {
        sha256 = await hashOf(object);
      } catch (error) {
        await object.body.cancel();
        throw error;
      }
      const length = range?.length ?? object.size;
      const meta = { size: object.size, lastModified: object.uploaded, sha256 };
      if (length <= SMALL_OBJECT_BYTES) {
        const bytes = new Uint8Array(await object.arrayBuffer());
        return { ...meta, bytes, body: streamOf(bytes) } satisfies StoredObject;
      }
      return { ...meta, body: object.body as unknown as ReadableStream<Uint8Array> } satisfies StoredObject;
    },

    async write(area, name, data, writeOptions = {}) {
      return putBytes(area, name, data as Bytes, await sha256Hex(data), writeOptions.ifAbsent === true);
    },

    async stage(area, name): Promise<StagedWrite> {
      const stagingKey = `${STAGING_PREFIX}${crypto.randomUUID()}`;
      const hash = createHash("sha256");
      let sha256: string | undefined;
      const digest = () => {
        sha256 ??= hash.digest("hex");
        return sha256;
      };
      const buffer = partBuffer();
      let size = 0;
      let upload: R2MultipartUpload | undefined;
      const parts: R2UploadedPart[] = [];
      let completed = false;
      let settled = false;

      const uploadPart = async (bytes: Bytes) => {
        upload ??= await bucket.createMultipartUpload(stagingKey);
        parts.push(await upload.uploadPart(parts.length + 1, bytes));
      };

      /** Completes the temporary object and copies it, with its hash, to the final key. */
      const publishStaged = async (sha256: string): Promise<"created" | "replaced"> => {
        if (buffer.length > 0) await uploadPart(buffer.take(buffer.length));
        await (upload as R2MultipartUpload).complete(parts);
        completed = true;
        const staged = await bucket.get(stagingKey);
        if (!staged) throw new Error("staged object vanished before it could be published");
        const key = keyOf(area, name);
        const existed = (await bucket.head(key)) !== null;
        // An R2 body has a known length, so it can be PUT as a stream: the copy never sits in memory.
        await bucket.put(key, staged.body, putOptions(area, sha256));
        await cleanUp(stagingKey, () => bucket.delete(stagingKey));
        return existed ? "replaced" : "created";
      };

      return {
        async write(chunk) {
          if (settled || sha256) throw new Error("staged write already digested, committed or aborted");
          hash.update(chunk);
          size += chunk.byteLength;
          buffer.push(chunk);
          // Every part but the last must have the same size: always exactly `partBytes`.
          while (buffer.length >= partBytes) await uploadPart(buffer.take(partBytes));
        },
        digest: async () => digest(),
        async commit() {
          if (settled) throw new Error("staged write already committed or aborted");
          settled = true;
          try {
            if (!upload) {
              const outcome = await putBytes(area, name, buffer.take(buffer.length), digest(), false);
              return { outcome: outcome === "created" ? "created" : "replaced", size };
            }
            return { outcome: await publishStaged(digest()), size };
          } catch (error) {
            const staged = upload;
            if (completed) await cleanUp(stagingKey, () => bucket.delete(stagingKey));
            else if (staged) await cleanUp(stagingKey, () => staged.abort());
            throw error;
          }
        },
        async abort() {
          if (settled) return;
          settled = true;
          buffer.clear();
          await upload?.abort();
        },
      };
    },

    async remove(area, name) {
      const key = keyOf(area, name);
      if (!(await bucket.head(key))) return false;
      await bucket.delete(key);
      return true;
    },

    async list(area) {
      const prefix = `${area}/`;
      const names: string[] = [];
      let cursor: string | undefined;
      do {
        // The delimiter keeps keys with a further "/" out: no valid name contains one.
        const page = await bucket.list({ prefix, delimiter: "/", limit: listPageSize, cursor });
        for (const object of page.objects) names.push(object.key.slice(prefix.length));
        cursor = page.truncated ? page.cursor : undefined;
      } while (cursor);
      return names;
    },

    state: createR2State(bucket),
    claimOnce: ledger.claimOnce,
    releaseClaim: ledger.releaseClaim,

    async check() {
      try {
        await bucket.head("configs/");
      } catch (error) {
        throw storageUnavailable("object storage (R2) is not reachable", error);
      }
    },
  };
}

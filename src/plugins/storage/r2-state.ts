/**
 * The state records (core/state.ts) in R2: one object per record under
 * `.iotsupport-state/<namespace>/`, outside `configs/` and `assets/`, never listed or
 * served. A single PUT is atomic and R2 is strongly consistent, so a read after an
 * answered write sees it, in every isolate. `ifAbsent` is a conditional PUT (If-None-Match: *).
 * A tracked namespace's version is the etag of `.iotsupport-state/<namespace>.version`,
 * rewritten on every tracked change.
 */
import type { R2Bucket } from "@cloudflare/workers-types/2023-07-01/index.js";
import { checkStateName, checkStateValue, type StateStore } from "../../core/state.js";

export const STATE_PREFIX = ".iotsupport-state/";
const recordKey = (ns: string, key: string) => `${STATE_PREFIX}${ns}/${key}`;
const versionKey = (ns: string) => `${STATE_PREFIX}${ns}.version`;

export function createR2State(bucket: R2Bucket): StateStore {
  const bump = async (ns: string) => {
    await bucket.put(versionKey(ns), crypto.randomUUID());
  };
  return {
    async list(ns) {
      checkStateName(ns);
      const prefix = `${STATE_PREFIX}${ns}/`;
      const keys: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await bucket.list({ prefix, limit: 1000, cursor });
        for (const object of page.objects) keys.push(object.key.slice(prefix.length));
        cursor = page.truncated ? page.cursor : undefined;
      } while (cursor);
      return keys;
    },
    async get(ns, key) {
      checkStateName(ns, key);
      const object = await bucket.get(recordKey(ns, key));
      return object ? new Uint8Array(await object.arrayBuffer()) : null;
    },
    async put(ns, key, value, options = {}) {
      checkStateName(ns, key);
      checkStateValue(value);
      const written = await bucket.put(
        recordKey(ns, key),
        value,
        options.ifAbsent ? { onlyIf: { etagDoesNotMatch: "*" } } : undefined,
      );
      if (written === null) return false;
      if (options.track) await bump(ns);
      return true;
    },
    async delete(ns, key, options = {}) {
      checkStateName(ns, key);
      // R2 has no conditional delete: whether something was there comes from a HEAD before it.
      const existed = (await bucket.head(recordKey(ns, key))) !== null;
      if (!existed) return false;
      await bucket.delete(recordKey(ns, key));
      if (options.track) await bump(ns);
      return true;
    },
    async version(ns) {
      checkStateName(ns);
      return (await bucket.head(versionKey(ns)))?.etag ?? "";
    },
  };
}

/** The state records (core/state.ts) in memory: for tests and throwaway demos, like the memory driver. */
import { checkStateName, checkStateValue, type StateStore } from "../../core/state.js";

export function createMemoryState(guard: () => void = () => undefined): StateStore {
  const spaces = new Map<string, Map<string, Uint8Array>>();
  const versions = new Map<string, number>();
  const space = (ns: string) => {
    const found = spaces.get(ns) ?? new Map<string, Uint8Array>();
    spaces.set(ns, found);
    return found;
  };
  const bump = (ns: string) => versions.set(ns, (versions.get(ns) ?? 0) + 1);
  return {
    async list(ns) {
      guard();
      checkStateName(ns);
      return [...space(ns).keys()];
    },
    async get(ns, key) {
      guard();
      checkStateName(ns, key);
      return space(ns).get(key)?.slice() ?? null;
    },
    async put(ns, key, value, options = {}) {
      guard();
      checkStateName(ns, key);
      checkStateValue(value);
      if (options.ifAbsent && space(ns).has(key)) return false;
      space(ns).set(key, value.slice());
      if (options.track) bump(ns);
      return true;
    },
    async delete(ns, key, options = {}) {
      guard();
      checkStateName(ns, key);
      const removed = space(ns).delete(key);
      if (removed && options.track) bump(ns);
      return removed;
    },
    async version(ns) {
      guard();
      checkStateName(ns);
      const version = versions.get(ns);
      return version === undefined ? "" : String(version);
    },
  };
}

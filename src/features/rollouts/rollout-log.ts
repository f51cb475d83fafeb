/**
 * The rollouts' records in the state store, with the caching that keeps a tick cheap:
 * definitions and events and parts never change once written (create-only), so each is read
 * once per process; a rollout's namespace is re-listed at most every LIST_MS (others' events
 * are seen within that), at once when asked for `fresh`, and what this process writes is in
 * the cache the moment it is written. `append` is the compare-and-set every decision goes
 * through: it creates the key after the last one seen, and answers undefined when another
 * process created it first (the caller re-reads and decides again).
 * Anything damaged (not JSON, wrong shape, a key of no known form) is logged once and skipped.
 */
import { errorFields, type Logger } from "../../core/logger.js";
import type { StateStore } from "../../core/state.js";
import type { LoggedEvent } from "./rollout-fold.js";
import { decodePart, encodePart, PART_DEVICES, type PartRow, parsePartKey, partKey } from "./rollout-parts.js";
import {
  DEFINITIONS_NAMESPACE,
  type Definition,
  decodeDefinition,
  decodeEvent,
  decodeHeartbeat,
  definitionId,
  definitionKey,
  encodeDefinition,
  encodeEvent,
  encodeHeartbeat,
  eventKey,
  eventSeq,
  HEARTBEAT_KEY,
  type Heartbeat,
  logNamespace,
  MAX_EVENT_SEQ,
  type RolloutEvent,
} from "./rollout-records.js";

/** A rollout's namespace is listed at most this often unless asked for fresh. */
export const LIST_MS = 500;

interface Cached {
  listedAt: number;
  listing?: Promise<void>;
  keys: Set<string>;
  events: Map<number, RolloutEvent | undefined>;
  parts: Map<string, PartRow[] | undefined>;
}

export interface RolloutLog {
  /** Every readable definition (damaged ones logged once and left out), by id. */
  definitions(): Promise<Map<number, Definition>>;
  /** The highest id taken, damaged definitions included (a new one goes one past it); after definitions(). */
  lastId(): number;
  /** Creates the definition; false when the id is taken. */
  define(definition: Definition): Promise<boolean>;
  events(def: Definition, fresh?: boolean): Promise<LoggedEvent[]>;
  /** Writes `event` as seq `after + 1`; its seq, or undefined when another writer took that key. */
  append(def: Definition, after: number, event: RolloutEvent): Promise<number | undefined>;
  /**
   * The parts of `wave` whose `devices` are listed in order: the rows covered so far (each
   * part checked against the devices it must cover; a damaged one skipped) and the next free part number.
   */
  parts(
    def: Definition,
    wave: number,
    claim: number,
    devices: readonly string[],
    fresh?: boolean,
  ): Promise<{ rows: PartRow[]; next: number }>;
  /** Creates part `part` of `wave`; false when taken (read the parts again). */
  putPart(def: Definition, wave: number, claim: number, part: number, rows: PartRow[]): Promise<boolean>;
  heartbeat(def: Definition, beat: Heartbeat): Promise<void>;
  lastHeartbeat(def: Definition): Promise<Heartbeat | undefined>;
}

export function createRolloutLog(state: StateStore, logger: Logger, now: () => number = Date.now): RolloutLog {
  const definitions = new Map<number, Definition>();
  const damagedDefinitions = new Set<string>();
  let lastId = 0;
  const logs = new Map<number, Cached>();
  const warned = new Set<string>();
  const damaged = (ns: string, key: string) => {
    if (warned.has(`${ns}/${key}`)) return;
    warned.add(`${ns}/${key}`);
    logger.warn("skipping a damaged rollout record (not written by this server, or cut short)", { ns, key });
  };
  const read = async (ns: string, key: string) => {
    try {
      return await state.get(ns, key);
    } catch (error) {
      // Unreadable now (a FIFO, a permission): skipped like a damaged one, and tried again on the next listing.
      logger.warn("could not read a rollout record", { ns, key, ...errorFields(error) });
      return undefined;
    }
  };

  const cached = (id: number): Cached => {
    let entry = logs.get(id);
    if (!entry) {
      entry = { listedAt: Number.NEGATIVE_INFINITY, keys: new Set(), events: new Map(), parts: new Map() };
      logs.set(id, entry);
    }
    return entry;
  };

  const relist = async (def: Definition, entry: Cached) => {
    const ns = logNamespace(def.id);
    const at = now();
    const keys = await state.list(ns);
    for (const key of keys) {
      entry.keys.add(key);
      const seq = eventSeq(key);
      if (seq === undefined) {
        if (key !== HEARTBEAT_KEY && !parsePartKey(key)) damaged(ns, key);
        continue;
      }
      if (entry.events.has(seq)) continue;
      const bytes = await read(ns, key);
      if (bytes === undefined) continue;
      const event = decodeEvent(bytes, def.spec.waves.length, def.spec.targets.length);
      if (!event) damaged(ns, key);
      entry.events.set(seq, event);
    }
    entry.listedAt = at;
  };

  const refreshed = async (def: Definition, fresh: boolean) => {
    const entry = cached(def.id);
    if (!fresh && now() - entry.listedAt < LIST_MS) return entry;
    // One listing at a time per rollout; a caller wanting it fresh waits for the one under way and lists again.
    while (entry.listing) await entry.listing;
    if (!fresh && now() - entry.listedAt < LIST_MS) return entry;
    entry.listing = relist(def, entry).finally(() => {
      entry.listing = undefined;
    });
    await entry.listing;
    return entry;
  };

  const partRows = async (def: Definition, entry: Cached, key: string, expected: readonly string[], claim: number) => {
    if (entry.parts.has(key)) return entry.parts.get(key);
    const bytes = await read(logNamespace(def.id), key);
    if (bytes === undefined) return undefined;
    const rows = decodePart(bytes, expected, claim);
    if (!rows) damaged(logNamespace(def.id), key);
    entry.parts.set(key, rows);
    return rows;
  };

  return {
    async definitions() {
      for (const key of await state.list(DEFINITIONS_NAMESPACE)) {
        const id = definitionId(key);
        if (id !== undefined) lastId = Math.max(lastId, id);
        if (id === undefined) {
          if (!damagedDefinitions.has(key)) damaged(DEFINITIONS_NAMESPACE, key);
          damagedDefinitions.add(key);
          continue;
        }
        if (definitions.has(id) || damagedDefinitions.has(key)) continue;
        const bytes = await read(DEFINITIONS_NAMESPACE, key);
        if (bytes === undefined) continue;
        const def = decodeDefinition(bytes, key);
        if (def) definitions.set(id, def);
        else {
          damagedDefinitions.add(key);
          damaged(DEFINITIONS_NAMESPACE, key);
        }
      }
      return definitions;
    },

    lastId: () => lastId,

    async define(def) {
      const created = await state.put(DEFINITIONS_NAMESPACE, definitionKey(def.id), encodeDefinition(def), {
        ifAbsent: true,
      });
      if (created) definitions.set(def.id, def);
      lastId = Math.max(lastId, def.id);
      return created;
    },

    async events(def, fresh = false) {
      const entry = await refreshed(def, fresh);
      return [...entry.events].map(([seq, event]) => ({ seq, event }));
    },

    async append(def, after, event) {
      const seq = after + 1;
      if (seq > MAX_EVENT_SEQ) throw new Error(`the log of rollout ${def.id} is full`);
      const key = eventKey(seq);
      const entry = cached(def.id);
      if (!(await state.put(logNamespace(def.id), key, encodeEvent(event), { ifAbsent: true }))) {
        entry.listedAt = Number.NEGATIVE_INFINITY;
        return undefined;
      }
      entry.keys.add(key);
      entry.events.set(seq, event);
      return seq;
    },

    async parts(def, wave, claim, devices, fresh = false) {
      const entry = await refreshed(def, fresh);
      const numbers = [...entry.keys]
        .map(parsePartKey)
        .filter((p) => p?.wave === wave)
        .map((p) => (p as { part: number }).part)
        .sort((a, b) => a - b);
      const rows: PartRow[] = [];
      for (const part of numbers) {
        if (rows.length >= devices.length) break;
        const expected = devices.slice(rows.length, rows.length + PART_DEVICES);
        const found = await partRows(def, entry, partKey(wave, part), expected, claim);
        if (found) rows.push(...found);
      }
      return { rows, next: (numbers.at(-1) ?? -1) + 1 };
    },

    async putPart(def, wave, claim, part, rows) {
      const key = partKey(wave, part);
      const entry = cached(def.id);
      if (!(await state.put(logNamespace(def.id), key, encodePart(claim, rows), { ifAbsent: true }))) {
        entry.listedAt = Number.NEGATIVE_INFINITY;
        return false;
      }
      entry.keys.add(key);
      entry.parts.set(key, rows);
      return true;
    },

    async heartbeat(def, beat) {
      await state.put(logNamespace(def.id), HEARTBEAT_KEY, encodeHeartbeat(beat));
    },

    async lastHeartbeat(def) {
      const bytes = await read(logNamespace(def.id), HEARTBEAT_KEY);
      return bytes ? decodeHeartbeat(bytes) : undefined;
    },
  };
}

/**
 * The shapes and routes of /api/rollouts (SPEC "Devices" → "Rollouts"), declared once:
 * routes.ts mounts its handlers with ROLLOUT_ROUTES and the API docs are made from them. The
 * create body is read by rollout-body.ts, not by a validator, so its errors name the field at
 * fault; RolloutCreate documents the same rules.
 */
import { z } from "zod";
import { createRoute } from "../../core/api-routes.js";
import { EVIDENCE, ROLLOUT_STATES } from "./contract.js";
import {
  MAX_NAME_CHARS,
  MAX_PATCH_BYTES,
  MAX_PATCH_DEPTH,
  MAX_TARGETS,
  MAX_WAVES,
  MAX_WITHIN_S,
} from "./rollout-body.js";

const json = <T>(schema: T) => ({ "application/json": { schema } });
const count = (description: string) => z.number().int().min(0).meta({ description });
const percent = (description: string) => z.number().int().min(1).max(100).meta({ description });

const Patch = z.record(z.string(), z.unknown()).meta({
  description: `A JSON merge patch (RFC 7386) applied to each target's config content: null removes a member, an object merges, anything else replaces. Not empty, at most ${MAX_PATCH_BYTES} bytes as JSON and ${MAX_PATCH_DEPTH} levels deep`,
  example: { firmware: { url: "https://example.com/fw-1.4.2.bin", version: "1.4.2" } },
});

const AdvanceWhen = z
  .strictObject({
    applied_percent: percent("The next wave is released once at least this share of the released devices applied"),
    within_s: z.number().int().min(1).max(MAX_WITHIN_S).meta({
      description:
        "A released device that has not applied within this many seconds of its wave's release counts as failed",
    }),
  })
  .meta({ id: "RolloutAdvanceWhen" });

const HaltWhen = z
  .strictObject({
    failed_percent: percent("The rollout halts once at least this share of the released devices failed"),
  })
  .meta({ id: "RolloutHaltWhen" });

const EXAMPLE = {
  name: "firmware 1.4.2",
  patch: { firmware: { url: "https://example.com/fw-1.4.2.bin", version: "1.4.2" } },
  targets: "all",
  waves: [1, 10, 50, 100],
  evidence: "report",
  advance_when: { applied_percent: 90, within_s: 900 },
  halt_when: { failed_percent: 5 },
};

export const RolloutCreate = z
  .strictObject({
    name: z
      .string()
      .min(1)
      .max(MAX_NAME_CHARS)
      .meta({
        description: `1 to ${MAX_NAME_CHARS} characters, no control or invisible (format) characters`,
      }),
    patch: Patch,
    targets: z.union([z.literal("all"), z.array(z.string()).min(1).max(MAX_TARGETS)]).meta({
      description: `"all" (every config, in MAC order) or 1 to ${MAX_TARGETS} MAC addresses, each with a config and none twice, released in the order given`,
    }),
    waves: z.array(z.number().int().min(1).max(100)).min(1).max(MAX_WAVES).meta({
      description:
        "Cumulative percentages of the targets, strictly increasing, the last 100: wave k releases the first ceil(p_k × N / 100) targets",
    }),
    evidence: z.enum(EVIDENCE).default("report").meta({
      description: "report: a device has applied when it reports ok with the rollout's ETag; fetch: when it fetches it",
    }),
    advance_when: AdvanceWhen,
    halt_when: HaltWhen,
  })
  .meta({
    id: "RolloutCreate",
    description: "Every field but evidence is required; an unknown field at any level is refused",
    example: EXAMPLE,
  });

const WaveCounts = z
  .object({
    released: count("The wave's devices once it is released, else 0"),
    applied: count("Of them, applied"),
    failed: count("Of them, failed"),
    pending: count("Of them, neither yet"),
  })
  .meta({
    id: "RolloutWaveCounts",
    description:
      "An extension of SPEC's wave: this wave's devices by outcome, by the same rules as the rollout's counts (the waves add up to them)",
  });

const Wave = z
  .object({
    percent: z.number().int().min(1).max(100),
    devices: count("Devices this wave releases (not cumulative)"),
    released_at: z.string().nullable().meta({ description: "ISO 8601 UTC of its release; null while it is not" }),
    counts: WaveCounts,
  })
  .meta({ id: "RolloutWave" });

const Counts = z
  .object({
    targets: count("Devices the rollout targets"),
    released: count("Devices in released waves"),
    applied: count("Released devices that applied the rollout's config"),
    failed: count("Released devices that reported failed, missed within_s, or could not be released"),
    pending: count("Released devices neither applied nor failed yet"),
  })
  .meta({ id: "RolloutCounts" });

export const Rollout = z
  .object({
    id: z.string().meta({ description: "1, 2, 3 … in the order of creation", example: "1" }),
    name: z.string(),
    state: z.enum(ROLLOUT_STATES).meta({ description: "completed: every target applied" }),
    created_at: z.string().meta({ description: "ISO 8601 UTC" }),
    patch: Patch,
    evidence: z.enum(EVIDENCE),
    advance_when: AdvanceWhen,
    halt_when: HaltWhen,
    waves: z.array(Wave),
    counts: Counts,
    details: z
      .object({ skipped: z.array(z.string()) })
      .optional()
      .meta({
        description:
          "Only in a rollback's answer: the devices left alone (sorted MACs) because their config changed after the rollout wrote it",
      }),
  })
  .meta({ id: "Rollout" });

export const RolloutList = z
  .object({ rollouts: z.array(Rollout).meta({ description: "Newest first" }), count: z.number().int() })
  .meta({ id: "RolloutList" });

const STORAGE = "The storage is not usable (a data directory missing, object storage unreachable)";
const FULL = "The disk is full: nothing was changed";
const BUSY = "Other processes kept writing to the same rollouts; retry after Retry-After";
const UNKNOWN = "No rollout with this id";
const idParams = z.object({ id: z.string().meta({ description: "The rollout's id", example: "1" }) });
const tags = ["Rollouts"];

const create = createRoute({
  method: "post",
  path: "/",
  tags,
  summary: "Create a rollout; its first wave is released at once (the saves continue after the answer)",
  request: {
    body: {
      required: true,
      description: "At most MAX_CONFIG_BYTES or 2 MiB, whichever is larger",
      content: json(RolloutCreate),
    },
  },
  responses: { 201: { description: "The rollout, running, its first wave released", content: json(Rollout) } },
  errors: {
    VALIDATION_FAILED:
      "The body is not JSON, not UTF-8, or not as RolloutCreate says: details.field names the field at fault (advance_when.within_s, targets[3], waves[0]); a target without a config is named in details.mac_address",
    INVALID_OPERATION: {
      status: 409,
      when: "A target is in a running or paused rollout (details.mac_address, details.rollout_id)",
    },
    PAYLOAD_TOO_LARGE: "The body is over MAX_CONFIG_BYTES or 2 MiB, whichever is larger",
    REQUEST_TIMEOUT: "The body stopped arriving",
    SERVER_BUSY: BUSY,
    STORAGE_UNAVAILABLE: STORAGE,
    STORAGE_FULL: FULL,
  },
});

const list = createRoute({
  method: "get",
  path: "/",
  tags,
  summary: "Every rollout, newest first",
  responses: { 200: { description: "The rollouts", content: json(RolloutList) } },
  errors: { STORAGE_UNAVAILABLE: STORAGE },
});

const get = createRoute({
  method: "get",
  path: "/{id}",
  tags,
  summary: "One rollout: its state, waves and counts",
  request: { params: idParams },
  responses: { 200: { description: "The rollout", content: json(Rollout) } },
  errors: { RECORD_NOT_FOUND: UNKNOWN, STORAGE_UNAVAILABLE: STORAGE },
});

/** POST /{id}/<action>: 200 with the rollout, 409 when its state does not allow the action. */
function action(name: string, summary: string, allowedFrom: string) {
  return createRoute({
    method: "post",
    path: `/{id}/${name}`,
    tags,
    summary,
    request: { params: idParams },
    responses: { 200: { description: "The rollout after it", content: json(Rollout) } },
    errors: {
      RECORD_NOT_FOUND: UNKNOWN,
      INVALID_OPERATION: { status: 409, when: `The rollout's state does not allow it (only from ${allowedFrom})` },
      SERVER_BUSY: BUSY,
      STORAGE_UNAVAILABLE: STORAGE,
      STORAGE_FULL: FULL,
    },
  });
}

export const ROLLOUT_ROUTES = {
  create,
  list,
  get,
  pause: action("pause", "Pause a running rollout: no wave is released, no halt decided, until it resumes", "running"),
  resume: action("resume", "Resume a paused rollout", "paused"),
  abort: action("abort", "Stop a rollout for good; what was released stays (roll it back to undo)", "running, paused"),
  rollback: action(
    "rollback",
    "Save each released device's previous config back, with its notification, unless its config changed after the rollout wrote it (details.skipped)",
    "paused, halted, aborted, completed",
  ),
};

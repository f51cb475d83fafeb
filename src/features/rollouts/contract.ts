/**
 * Rollouts (SPEC "Devices" → "Rollouts"): a merge patch released to a fleet in cumulative
 * waves, each next wave released when enough released devices have applied it, the whole
 * halted when too many failed, and every released device's previous config kept for a
 * rollback. Routes, the CLI and the runtimes' drivers (a timer on Node, Deno and Bun; a
 * Durable Object alarm on Workers) know only this contract; engine.ts implements it over
 * the state store, the configs and the fleet records.
 */

export const ROLLOUT_STATES = ["running", "paused", "halted", "completed", "aborted", "rolled_back"] as const;
export type RolloutState = (typeof ROLLOUT_STATES)[number];

export const ROLLOUT_ACTIONS = ["pause", "resume", "abort", "rollback"] as const;
export type RolloutAction = (typeof ROLLOUT_ACTIONS)[number];

export const EVIDENCE = ["report", "fetch"] as const;
export type Evidence = (typeof EVIDENCE)[number];

/**
 * What happened to one device in a rollout, for iot_rollout_device_outcomes_total{outcome}:
 * bounded, never a MAC or a rollout's name. Each is counted once across every process
 * sharing the storage (by the process that wrote the event deciding it).
 */
export const DEVICE_OUTCOMES = ["released", "applied", "failed", "rolled_back", "skipped"] as const;
export type DeviceOutcome = (typeof DEVICE_OUTCOMES)[number];

/** A create request as validated by rollout-body.ts (unknown fields refused, defaults filled in). */
export interface RolloutSpec {
  name: string;
  /** A JSON merge patch (RFC 7386) applied to each target's config content. */
  patch: Record<string, unknown>;
  /** Normalised MACs (lower case, dashes), no duplicates, in the order given; or every config. */
  targets: string[] | "all";
  /** Cumulative percentages, strictly increasing, each 1–100, the last 100. */
  waves: number[];
  evidence: Evidence;
  advance_when: { applied_percent: number; within_s: number };
  halt_when: { failed_percent: number };
}

export interface RolloutWave {
  percent: number;
  /** Devices this wave releases (not cumulative). */
  devices: number;
  /** ISO 8601 UTC when the wave was released; null while it is not. */
  released_at: string | null;
  /**
   * An extension of SPEC's wave (its three fields stay as they are): this wave's devices by
   * outcome, by the same rules as the rollout's counts, so the waves add up to them. All 0
   * while the wave is not released. Optional for clients, which may talk to a server without it.
   */
  counts?: WaveCounts;
}

/** One wave's devices by outcome (RolloutCounts without targets: a wave's targets are its `devices`). */
export interface WaveCounts {
  /** The wave's devices once it is released, else 0. */
  released: number;
  applied: number;
  failed: number;
  pending: number;
}

export interface RolloutCounts {
  targets: number;
  /** Devices in released waves. */
  released: number;
  applied: number;
  failed: number;
  /** Released devices neither applied nor failed yet. */
  pending: number;
}

/** A rollout as the API answers it (SPEC *rollout*). */
export interface RolloutView {
  id: string;
  name: string;
  state: RolloutState;
  created_at: string;
  patch: Record<string, unknown>;
  evidence: Evidence;
  advance_when: RolloutSpec["advance_when"];
  halt_when: RolloutSpec["halt_when"];
  waves: RolloutWave[];
  counts: RolloutCounts;
  /** Only in a rollback's answer: the devices left alone because their config changed after the rollout wrote it. */
  details?: { skipped: string[] };
}

export interface Rollouts {
  /**
   * Creates a rollout and claims its first wave before answering (the wave's saves continue
   * in the background as the engine's own work, see close()). Throws AppError
   * VALIDATION_FAILED (400, details.mac_address) for a target without a config, and
   * INVALID_OPERATION with status 409 (details.mac_address, details.rollout_id) for a target
   * already in a running or paused rollout.
   */
  create(spec: RolloutSpec): Promise<RolloutView>;
  /** Every rollout, newest first. */
  list(): Promise<RolloutView[]>;
  /** RECORD_NOT_FOUND (404) when there is none with this id. */
  get(id: string): Promise<RolloutView>;
  /** INVALID_OPERATION with status 409 when the rollout's state does not allow `action`. */
  act(id: string, action: RolloutAction): Promise<RolloutView>;
  /**
   * One round of decisions for every running rollout: release a next wave, halt, complete,
   * or take over work a stopped process left half done. Called by the runtime's driver
   * (timer or alarm) at least every TICK_MS while `active()` says so. Never throws for one
   * rollout's failure (logged; the next tick tries again).
   */
  tick(): Promise<void>;
  /** Whether any rollout may still need a decision (running, or work left half done). */
  active(): Promise<boolean>;
  /** How many rollouts are in each state, for iot_rollouts{state} at scrape time. */
  counts(): Promise<Record<RolloutState, number>>;
  /**
   * Stops taking ticks and stops work in progress at its next batch of saves (a wave of
   * thousands would hold a graceful stop for minutes); what is left is taken over by the next
   * process once the heartbeat is STALE_WORK_MS old, each device saved once.
   */
  close(): Promise<void>;
}

/** How often the runtimes' drivers call tick() while a rollout is active: decisions within SPEC's 2 s. */
export const TICK_MS = 500;

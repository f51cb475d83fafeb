/** The messages between the driver and a shard (shard.ts ↔ shard-main.ts), over the child's IPC channel. */
import type { GroupSettings } from "./group.js";
import type { Timed, Upload } from "./settled.js";

export type ShardRequest =
  | { id: number; op: "start"; settings: GroupSettings }
  | { id: number; op: "connect" }
  | { id: number; op: "planned"; saves: Timed[]; upload: Upload | undefined }
  | { id: number; op: "settled" }
  | { id: number; op: "finish" };

export type ShardReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };

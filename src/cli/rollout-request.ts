/**
 * iot-rollout's requests (SPEC "Rollouts"): create, list, get, and the four actions, each
 * turned into checked RolloutViews or a typed CliError carrying the server's error line.
 * Sent by admin-request.ts: the admin token goes in the Authorization header only.
 */
import type { RolloutAction, RolloutView } from "../features/rollouts/contract.js";
import {
  type AdminAnswer,
  type AdminRequestDeps,
  type AdminServer,
  adminRefusal,
  sendAdminRequest,
} from "./admin-request.js";
import { notAResult } from "./answer-body.js";
import { CliError } from "./errors.js";
import type { CreateBody } from "./rollout-create.js";
import { rolloutListOfText, rolloutOfText } from "./rollout-view.js";
import type { ErrorBody } from "./server-error.js";
import { forTerminal, MAX_NAME_CHARS } from "./terminal-text.js";
import { formatBytes } from "./units.js";

export type RolloutRequestDeps = AdminRequestDeps;
export type RolloutServer = AdminServer;

const COMMAND = "iot-rollout";
/**
 * A rollout carries its patch (up to the server's body limit, a few MiB) and a rollback its
 * skipped MACs; a list carries every rollout. Bounded all the same: whatever answers must not
 * fill this machine's memory.
 */
const MAX_ROLLOUT_ANSWER_BYTES = 64 * 1024 * 1024;

export async function createRollout(
  server: RolloutServer,
  body: CreateBody,
  deps: RolloutRequestDeps,
): Promise<RolloutView> {
  const answer = await send(server, "POST", "api/rollouts", deps, JSON.stringify(body));
  return viewOf(answer, { action: "the rollout", deps, server });
}

export async function listRollouts(server: RolloutServer, deps: RolloutRequestDeps): Promise<RolloutView[]> {
  const sent = await send(server, "GET", "api/rollouts", deps);
  if (!sent.response.ok) throw refusal(sent, "the listing", server, deps);
  const list = sent.answer.truncated ? undefined : rolloutListOfText(sent.answer.text);
  if (!list) throw notRollouts(sent, "a list of rollouts");
  return list;
}

export async function getRollout(server: RolloutServer, id: string, deps: RolloutRequestDeps): Promise<RolloutView> {
  const answer = await send(server, "GET", `api/rollouts/${id}`, deps);
  return viewOf(answer, { action: `the request for rollout ${id}`, deps, server, id });
}

export async function actOnRollout(
  server: RolloutServer,
  id: string,
  action: RolloutAction,
  deps: RolloutRequestDeps,
): Promise<RolloutView> {
  const answer = await send(server, "POST", `api/rollouts/${id}/${action}`, deps);
  return viewOf(answer, { action: `the ${action} of rollout ${id}`, deps, server, id, act: action });
}

interface Asked {
  action: string;
  deps: RolloutRequestDeps;
  server: RolloutServer;
  id?: string;
  act?: RolloutAction;
}

function viewOf(sent: AdminAnswer, asked: Asked): RolloutView {
  if (!sent.response.ok) throw refusal(sent, asked.action, asked.server, asked.deps, asked);
  const view = sent.answer.truncated ? undefined : rolloutOfText(sent.answer.text);
  // An answer about another rollout than the one asked for is no answer to this request.
  if (!view || (asked.id !== undefined && view.id !== asked.id)) throw notRollouts(sent, "a rollout");
  return view;
}

function notRollouts(sent: AdminAnswer, what: string): CliError {
  if (!sent.answer.truncated) return notAResult(COMMAND, what, sent.response.status, sent.answer, sent.requestId);
  return new CliError(
    "REFUSED",
    `the server answered ${sent.response.status} with more than ${formatBytes(MAX_ROLLOUT_ANSWER_BYTES)}, which is not ${what}; is --server an IoT Support server?`,
    { notes: [`request id: ${sent.requestId}`] },
  );
}

function refusal(sent: AdminAnswer, action: string, server: RolloutServer, deps: RolloutRequestDeps, asked?: Asked) {
  return adminRefusal(sent, { command: COMMAND, action, server, explain: (body) => explain(body, asked) }, deps);
}

/** Every rollout request is an admin request; a success is read up to the larger bound. */
function send(server: RolloutServer, method: "GET" | "POST", path: string, deps: RolloutRequestDeps, body?: string) {
  return sendAdminRequest(server, { method, path, body, maxSuccessBytes: MAX_ROLLOUT_ANSWER_BYTES }, deps);
}

const NEEDS: Record<RolloutAction, string> = {
  pause: "a running rollout",
  resume: "a paused rollout",
  abort: "a running or paused rollout",
  rollback: "a paused, halted, aborted or completed rollout",
};

/** What the server's error codes mean for a rollout request; classified by code and details, never by the message. */
function explain(body: ErrorBody, asked: Asked | undefined): string[] | undefined {
  const mac = typeof body.details.mac_address === "string" ? forTerminal(body.details.mac_address, MAX_NAME_CHARS) : "";
  switch (body.code) {
    case "INVALID_OPERATION":
      if (asked?.act)
        return [`${asked.act} needs ${NEEDS[asked.act]} (iot-rollout status ${asked.id} shows its state)`];
      if (mac !== "") {
        const other = body.details.rollout_id;
        const where =
          typeof other === "string" || typeof other === "number" ? ` ${forTerminal(String(other), 16)}` : "";
        return [
          `${mac} is already in rollout${where}, which is running or paused: a device is in one such rollout at a time (wait for it, or abort it)`,
        ];
      }
      return undefined;
    case "VALIDATION_FAILED": {
      if (mac !== "")
        return [
          `${mac} has no config on the server: save one first (PUT /api/configs/{mac}), or leave it out of the targets`,
        ];
      const field = typeof body.details.field === "string" ? forTerminal(body.details.field, MAX_NAME_CHARS) : "";
      return field === "" ? undefined : [`the field the server refused: ${field}`];
    }
    case "RECORD_NOT_FOUND":
      return [`there is no rollout ${asked?.id ?? ""} on this server (iot-rollout list shows them)`];
    case "PAYLOAD_TOO_LARGE":
      return [
        "the patch and targets together are larger than the server accepts: a smaller patch, or fewer targets per rollout",
      ];
    case "ROUTE_NOT_FOUND":
      return ["the server has no rollouts (/api/rollouts): it is older than this command"];
    case "SERVER_BUSY":
      return ["the server is busy (many rollouts created at once, or its storage is slow); try again in a moment"];
    case "STORAGE_FULL":
      return ["the server's storage is full; its operator must free space first"];
    default:
      return undefined;
  }
}

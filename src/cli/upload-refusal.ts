/**
 * A refused upload in iot-upload's words: what each of the server's error codes and
 * fields means for an upload, with the facts of this request (signature version, sizes,
 * clocks) that help the user fix it. Classified by code and details.field only.
 */
import type { CliError } from "./errors.js";
import { MAX_RETRY_AFTER_SECONDS, type RetryAfter } from "./retry-after.js";
import { type ErrorBody, type Refusal, refusalError } from "./server-error.js";
import { forTerminal, MAX_NAME_CHARS } from "./terminal-text.js";
import { formatBytes } from "./units.js";

/** What the upload request was, as far as a refusal's explanation needs it. */
export interface RequestFacts {
  signatureVersion: 1 | 2;
  timestampPinned: boolean;
  bodyBytes: number;
  fileBytes: number;
  /** The local clock when the answer came, ISO. */
  localDate: string;
}

export const uploadRefusal = (r: Refusal, facts: RequestFacts): CliError =>
  refusalError(r, { command: "iot-upload", action: "the upload", explain: (body) => explain(body, r, facts) });

function explain(body: ErrorBody, r: Refusal, facts: RequestFacts): string[] | undefined {
  switch (body.code) {
    case "VALIDATION_FAILED":
      return explainField(String(body.details.field ?? ""), r, facts);
    case "PAYLOAD_TOO_LARGE": {
      const max = Number(body.details.max_bytes);
      const limit = Number.isFinite(max) ? `${formatBytes(max)} (${max} bytes)` : "its configured limit";
      return [
        `the server accepts request bodies of at most ${limit}; this upload is ${formatBytes(facts.bodyBytes)} (${facts.bodyBytes} bytes: the file's ${facts.fileBytes} bytes plus the form fields)`,
      ];
    }
    case "SERVER_BUSY": {
      const when = r.retryAfter === undefined ? "in a little while" : `in ${retryAfterText(r.retryAfter)}`;
      return [
        `the server is handling too many uploads at once; try again ${when}, or pass --retries N to wait and retry automatically`,
      ];
    }
    case "NAME_OCCUPIED":
      return [
        "the server's assets directory holds a directory with this file's name, which it will not remove; its operator must move it, or upload under another name",
      ];
    case "STORAGE_FULL":
      return ["the server's storage is full; its operator must free space before anything more can be uploaded"];
    case "REQUEST_TIMEOUT":
      return ["the server gave up waiting for the rest of the upload (a slow or stalled connection); try again"];
    case "UNAUTHORIZED":
      return ["the server wants credentials, which this version of iot-upload does not send"];
    case "FORBIDDEN":
      return ["the server does not allow this client to upload; ask its operator"];
    default:
      return undefined;
  }
}

function explainField(field: string, r: Refusal, facts: RequestFacts): string[] {
  switch (field) {
    case "signature": {
      const notes = [
        "field signature: the server's key does not match --key, or the signature was already used (the server accepts each signature once)",
      ];
      if (facts.timestampPinned) notes.push("with --timestamp, the same file and name always give the same signature");
      if (facts.signatureVersion === 2) notes.push("if the server predates signature version 2, upload with --v1");
      else notes.push("if the server requires signature version 2, upload without --v1");
      return notes;
    }
    case "timestamp": {
      if (facts.timestampPinned)
        return ["field timestamp: the --timestamp given is malformed or too far from the server's time"];
      const clocks = r.serverDate ? ` (server: ${r.serverDate}; this machine: ${facts.localDate})` : "";
      return [`field timestamp: your clock differs from the server's by more than the tolerance${clocks}`];
    }
    case "filename":
      return ["field filename: the server does not accept this asset name; choose another with --name"];
    case "file":
      return ["field file: the server did not get the file part"];
    case "body":
      return [
        "field body: the server could not read the upload completely (a broken connection or a proxy in between?)",
      ];
    default:
      return field ? [`field ${forTerminal(field, MAX_NAME_CHARS)}`] : [];
  }
}

/** "12 s (Retry-After)", or with a note when the server asked for more than we wait. */
export function retryAfterText(r: RetryAfter): string {
  return r.capped
    ? `${r.seconds} s (Retry-After asked for longer; iot-upload waits at most ${MAX_RETRY_AFTER_SECONDS} s)`
    : `${r.seconds} s (Retry-After)`;
}

/**
 * The kinds of values settings take (numbers, booleans, URLs, PEM text, lists), as zod
 * schemas whose messages read well after "Invalid setting NAME: ". Values that may be
 * secrets are never repeated in a message.
 */
import { z } from "zod";

export const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, "must be a whole number")
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

const parseOrigins = (raw: string): string[] => {
  const text = raw.trim();
  if (text.startsWith("[")) {
    const parsed: unknown = JSON.parse(text);
    if (!Array.isArray(parsed) || !parsed.every((o) => typeof o === "string")) {
      throw new Error("must be a JSON array of strings");
    }
    return parsed.map((o) => o.trim()).filter(Boolean);
  }
  return text
    .split(",")
    .map((o) => o.trim())
    .filter(Boolean);
};

export const origins = z.string().transform((raw, ctx) => {
  try {
    // Browsers send an Origin without a trailing slash; accept one in the setting anyway.
    const list = parseOrigins(raw).map((o) => o.replace(/\/+$/, ""));
    for (const origin of list) {
      if (origin !== "*" && !/^https?:\/\/[^/\s]+$/.test(origin)) {
        ctx.addIssue({ code: "custom", message: `"${origin}" is not an origin like http://host:port` });
        return z.NEVER;
      }
    }
    return list;
  } catch (error) {
    ctx.addIssue({ code: "custom", message: error instanceof Error ? error.message : "cannot be parsed" });
    return z.NEVER;
  }
});

export const mqttUrl = z.string().transform((raw, ctx) => {
  const text = raw.trim();
  if (text === "") return undefined;
  // `console:` has no authority part; URL still parses it, which is all we need here.
  // Scheme support is decided by the sink registry, not here.
  try {
    return new URL(text);
  } catch {
    // The raw value may hold credentials, so the message never repeats it.
    ctx.addIssue({ code: "custom", message: "is not a valid URL (expected e.g. mqtt://host:1883 or console:)" });
    return z.NEVER;
  }
});

export const pem = z
  .string()
  .refine((s) => s.includes("-----BEGIN "), "must contain a PEM block (-----BEGIN ...-----)");

export const bool = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => ["true", "false", "1", "0", "yes", "no"].includes(v), "must be true or false")
  .transform((v) => v === "true" || v === "1" || v === "yes");

/** A comma list of SHA-256 hex digests (token hashes); never echoed back in a message. */
export const hashList = z.string().transform((raw, ctx) => {
  const list = raw
    .split(",")
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
  if (list.length === 0 || !list.every((h) => /^[0-9a-f]{64}$/.test(h))) {
    ctx.addIssue({
      code: "custom",
      message: "must be a comma list of SHA-256 hex digests (64 hex characters each; make one with `npx iot-token`)",
    });
    return z.NEVER;
  }
  return list;
});

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;
export const isLoopbackHost = (host: string) => LOOPBACK.test(host) || host === "::1";

/** Host names without ports, lower case (a `Host` header's port is ignored when matching). */
export const hostList = z.string().transform((raw, ctx) => {
  const list = raw
    .split(",")
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
  if (list.length === 0 || !list.every((h) => /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)$/.test(h))) {
    ctx.addIssue({
      code: "custom",
      message: "must be a comma list of host names without ports, e.g. iot.example.com,localhost",
    });
    return z.NEVER;
  }
  return list;
});

export const optionalText = z
  .string()
  .transform((s) => (s === "" ? undefined : s))
  .optional();

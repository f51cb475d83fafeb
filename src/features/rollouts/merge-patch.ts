/**
 * JSON Merge Patch (RFC 7386): how a rollout's `patch` changes each target's config content.
 * A member whose value is null is removed, an object merges member by member, anything else
 * (an array, a string, a number, a boolean) replaces what was there.
 *
 * The inputs are never changed: every object on a path the patch touches is a new one; the
 * rest of the target, and the patch's arrays and scalars, are shared with the result (which
 * is written out as JSON, never changed in place). Keys are set with defineProperty, so a member named `__proto__` (which
 * JSON.parse makes an own property) stays a plain member instead of replacing the result's
 * prototype; `constructor` and `prototype` are only ever read as own members too.
 */

type Json = unknown;
type JsonObject = Record<string, Json>;

const isObject = (value: Json): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** An own member of `object`, never one inherited from Object.prototype. */
const own = (object: JsonObject, key: string): Json => (Object.hasOwn(object, key) ? object[key] : undefined);

/** Sets an own, plain data member, whatever its name. */
function define(object: JsonObject, key: string, value: Json): void {
  Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * RFC 7386 section 2, MergePatch(Target, Patch), for any JSON values (the RFC's examples
 * include arrays and null). Recursion is as deep as the patch; rollout-body.ts bounds it.
 */
export function mergePatchValue(target: Json, patch: Json): Json {
  if (!isObject(patch)) return patch;
  const result: JsonObject = {};
  // Members keep the target's order; new ones follow in the patch's order.
  if (isObject(target)) for (const key of Object.keys(target)) define(result, key, target[key]);
  for (const key of Object.keys(patch)) {
    const value = patch[key];
    if (value === null) delete result[key];
    else define(result, key, mergePatchValue(isObject(target) ? own(target, key) : undefined, value));
  }
  return result;
}

/** `target` with `patch` applied as a JSON merge patch, as a new object; neither input is changed. */
export function mergePatch(target: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  return mergePatchValue(target, patch) as Record<string, unknown>;
}

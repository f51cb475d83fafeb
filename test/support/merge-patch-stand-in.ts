/**
 * A stand-in for src/features/rollouts/merge-patch.ts (written at the same time on another
 * branch) so the engine tests run before it is merged; replaced by the real one then.
 */
export function mergePatchStandIn(target: Record<string, unknown>, patch: Record<string, unknown>) {
  const out: Record<string, unknown> = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else if (typeof value === "object" && !Array.isArray(value)) {
      const base = out[key];
      out[key] = mergePatchStandIn(
        typeof base === "object" && base !== null && !Array.isArray(base) ? (base as Record<string, unknown>) : {},
        value as Record<string, unknown>,
      );
    } else out[key] = value;
  }
  return out;
}

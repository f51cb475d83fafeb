/**
 * /metrics on a Worker whose sink runs in the notification hub: the isolate's own families
 * (requests, configs, uploads: per isolate, as before) followed by the sink families the
 * hub counts for the whole Worker. The isolate's registry leaves those out, so no family
 * appears twice; a family both count (device status reports: over HTTP in the isolate, over
 * MQTT in the hub) appears once, each series the sum of both (sumShared). A hub that cannot
 * answer costs its part of the scrape, never the scrape.
 */
import { errorFields, type Logger } from "../core/logger.js";

/** The hub may be busy reloading its queue; a scrape does not wait for it longer than this. */
export const HUB_METRICS_TIMEOUT_MS = 2000;

type Exposition = { contentType: string; body: string };

export async function withHubMetrics(
  own: Exposition,
  hubText: () => Promise<string>,
  logger: Logger,
  timeoutMs = HUB_METRICS_TIMEOUT_MS,
): Promise<Exposition> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const text = await Promise.race([hubText(), deadline]);
    const { body, rest } = sumShared(own.body, text);
    const separator = body === "" || body.endsWith("\n") ? "" : "\n";
    return { contentType: own.contentType, body: `${body}${separator}${rest}` };
  } catch (error) {
    logger.warn("the notification hub's metrics could not be read; /metrics shows this isolate's only", {
      ...errorFields(error),
    });
    return own;
  } finally {
    clearTimeout(timer);
  }
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/;
const familyOf = (line: string) => (line.startsWith("# ") ? line.split(" ")[2] : SAMPLE.exec(line)?.[1]);

/**
 * Adds the hub's samples of the families `own` also has into `own` (same name and labels: the
 * values summed; a series only the hub has: added to the family), and returns the rest of the
 * hub's text, the families only the hub has. Counters only: a gauge has no such two halves.
 */
export function sumShared(own: string, hub: string): { body: string; rest: string } {
  const ownFamilies = new Set(own.split("\n").flatMap((l) => (l.startsWith("# TYPE ") ? [l.split(" ")[2]] : [])));
  const shared = new Map<string, Map<string, number>>();
  const rest: string[] = [];
  for (const line of hub.split("\n")) {
    const family = familyOf(line);
    const sample = SAMPLE.exec(line);
    if (!family || !ownFamilies.has(family)) {
      if (line !== "") rest.push(line);
    } else if (sample && !line.startsWith("#")) {
      const series = shared.get(family) ?? new Map<string, number>();
      series.set(`${sample[1]}${sample[2] ?? ""}`, Number(sample[3]));
      shared.set(family, series);
    }
  }
  const ownSeries = new Set(
    own.split("\n").flatMap((l) => {
      const sample = l.startsWith("#") ? null : SAMPLE.exec(l);
      return sample ? [`${sample[1]}${sample[2] ?? ""}`] : [];
    }),
  );
  const out: string[] = [];
  for (const line of own.split("\n")) {
    const sample = line.startsWith("#") ? null : SAMPLE.exec(line);
    const key = sample ? `${sample[1]}${sample[2] ?? ""}` : "";
    const added = sample ? shared.get(sample[1] as string)?.get(key) : undefined;
    out.push(sample && added !== undefined ? `${key} ${Number(sample[3]) + added}` : line);
    // The hub's series the isolate has not counted go right after the family's TYPE line.
    if (line.startsWith("# TYPE ")) {
      for (const [series, value] of shared.get(line.split(" ")[2] as string) ?? []) {
        if (!ownSeries.has(series)) out.push(`${series} ${value}`);
      }
    }
  }
  return { body: out.join("\n"), rest: rest.length > 0 ? `${rest.join("\n")}\n` : "" };
}

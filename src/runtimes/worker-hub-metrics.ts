/**
 * /metrics on a Worker whose sink runs in the notification hub: the isolate's own families
 * (requests, configs, uploads: per isolate, as before) followed by the sink families the
 * hub counts for the whole Worker. The isolate's registry leaves those out, so no family
 * appears twice. A hub that cannot answer costs its part of the scrape, never the scrape.
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
    const separator = own.body === "" || own.body.endsWith("\n") ? "" : "\n";
    return { contentType: own.contentType, body: `${own.body}${separator}${text}` };
  } catch (error) {
    logger.warn("the notification hub's metrics could not be read; /metrics shows this isolate's only", {
      ...errorFields(error),
    });
    return own;
  } finally {
    clearTimeout(timer);
  }
}

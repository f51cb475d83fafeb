/**
 * The prom-client objects of the table in table.ts, on a registry passed in (never
 * prom-client's global one, so two apps in one process never share a counter).
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { createHttpSeries, type HttpSeries } from "./http-series.js";
import { createPlainHistogram, type PlainHistogram } from "./plain-series.js";
import { METRICS, type MetricSpec } from "./table.js";

type Instrument<S extends MetricSpec> = S["kind"] extends "counter"
  ? Counter<S["labels"][number]>
  : S["kind"] extends "gauge"
    ? Gauge<S["labels"][number]>
    : Histogram<S["labels"][number]>;

/**
 * The series a hot path touches are plain series (plain-series.ts): the two every request
 * touches (http-series.ts) and the time to each notification's acknowledgement. The rest are prom-client's.
 */
type PlainKeys = "httpRequests" | "httpDuration" | "ackDuration";
export type Instruments = { [K in Exclude<keyof typeof METRICS, PlainKeys>]: Instrument<(typeof METRICS)[K]> } & {
  http: HttpSeries;
  ackDuration: PlainHistogram;
};

/** Gauges whose value is read at scrape time rather than kept. */
export type Collectors = Partial<Record<keyof typeof METRICS, (gauge: Gauge<string>) => void>>;

export function createInstruments(registry: Registry, collectors: Collectors = {}): Instruments {
  const registers = [registry];
  const built: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(METRICS) as Array<[keyof typeof METRICS, MetricSpec]>) {
    const common = { name: spec.name, help: spec.help, labelNames: [...spec.labels], registers };
    const collect = collectors[key];
    // Both registered where the table has them (next to each other), so /metrics keeps its order.
    if (key === "httpRequests")
      built.http = createHttpSeries(registry, spec, { ...METRICS.httpDuration, buckets: METRICS.httpDuration.buckets });
    else if (key === "httpDuration") continue;
    else if (key === "ackDuration")
      built[key] = createPlainHistogram(registry, { ...spec, labelNames: spec.labels, buckets: spec.buckets ?? [] });
    else if (spec.kind === "counter") built[key] = new Counter(common);
    else if (spec.kind === "histogram") built[key] = new Histogram({ ...common, buckets: [...(spec.buckets ?? [])] });
    else
      built[key] = new Gauge({
        ...common,
        ...(collect
          ? {
              collect(this: Gauge<string>) {
                collect(this);
              },
            }
          : {}),
      });
  }
  return built as Instruments;
}

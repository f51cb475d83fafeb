/**
 * `iot_http_requests_total` and `iot_http_request_duration_seconds`, the two series every
 * request touches, as plain series (plain-series.ts): a request adds to the numbers of a
 * child looked up once per method, route and status, with no label set built or hashed.
 */
import type { Registry } from "prom-client";
import { createPlainCounter, createPlainHistogram } from "./plain-series.js";

/** Counts one request with its duration. */
export interface HttpChild {
  observe(seconds: number): void;
}

export interface HttpSeries {
  /** The child of one method, route pattern and status; the same object for the same three. */
  child(method: string, route: string, status: number): HttpChild;
}

interface Spec {
  name: string;
  help: string;
  labels: readonly string[];
}

export function createHttpSeries(
  registry: Registry,
  requests: Spec,
  duration: Spec & { buckets: readonly number[] },
): HttpSeries {
  const counter = createPlainCounter(registry, { ...requests, labelNames: requests.labels });
  const histogram = createPlainHistogram(registry, { ...duration, labelNames: duration.labels });
  // Keyed route → method → status: strings the runtime already hashed, no key built per request.
  const children = new Map<string, Map<string, Map<number, HttpChild>>>();
  return {
    child(method, route, status) {
      let methods = children.get(route);
      if (!methods) {
        methods = new Map();
        children.set(route, methods);
      }
      let statuses = methods.get(method);
      if (!statuses) {
        statuses = new Map();
        methods.set(method, statuses);
      }
      let child = statuses.get(status);
      if (!child) {
        const count = counter.labels({ method, route, status: String(status) });
        const time = histogram.labels({ method, route });
        child = {
          observe(seconds) {
            time.observe(seconds);
            count.inc();
          },
        };
        statuses.set(status, child);
      }
      return child;
    },
  };
}

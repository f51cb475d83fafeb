/**
 * `iot_http_requests_total` and `iot_http_request_duration_seconds`, the two series every
 * request touches, kept as plain numbers per label set instead of in prom-client's
 * Counter and Histogram. prom-client builds, validates and hashes the label set on every
 * `inc` and `observe`, even through a child from `labels()`: on a cached device read that
 * was about half of the fast path's own work (a measured 1.4 of 2.5 µs on Deno). Here a
 * request adds to the numbers of a child looked up once per method, route and status.
 *
 * Both are registered on the registry as prom-client metrics (same name, help, type and
 * value records, read by the registry's own formatter), so /metrics reads byte for byte
 * as it did: test/http-series.test.ts compares the two with the same observations.
 */
import type { Metric, Registry } from "prom-client";

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
}

interface CountSeries {
  labels: { method: string; route: string; status: string };
  value: number;
}

interface DurationSeries {
  labels: { method: string; route: string };
  /** Observations per bucket, not cumulative; the last slot counts those above every bound. */
  buckets: number[];
  sum: number;
  count: number;
}

/** A value record as prom-client's registry formats it (metricName and sharedLabels optional). */
interface ValueRecord {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
  sharedLabels?: Record<string, string>;
  exemplar?: null;
}

/** What Registry.registerMetric and the registry's formatter read of a metric. */
interface RegisteredMetric {
  name: string;
  help: string;
  type: "counter" | "histogram";
  aggregator: "sum";
  get(): Promise<{ name: string; help: string; type: string; values: ValueRecord[]; aggregator: "sum" }>;
  getForPromString?(): Promise<{ name: string; help: string; type: string; values: ValueRecord[]; aggregator: "sum" }>;
  reset(): void;
}

export function createHttpSeries(
  registry: Registry,
  requests: Spec,
  duration: Spec & { buckets: readonly number[] },
): HttpSeries {
  const bounds = [...duration.buckets];
  let counts = new Map<string, CountSeries>();
  let durations = new Map<string, DurationSeries>();
  // Keyed route → method → status: strings the runtime already hashed, no key built per request.
  let children = new Map<string, Map<string, Map<number, HttpChild>>>();

  const durationOf = (method: string, route: string): DurationSeries => {
    const key = `${method} ${route}`;
    let series = durations.get(key);
    if (!series) {
      series = { labels: { method, route }, buckets: new Array(bounds.length + 1).fill(0), sum: 0, count: 0 };
      durations.set(key, series);
    }
    return series;
  };

  const countOf = (method: string, route: string, status: number): CountSeries => {
    const key = `${method} ${route} ${status}`;
    let series = counts.get(key);
    if (!series) {
      series = { labels: { method, route, status: String(status) }, value: 0 };
      counts.set(key, series);
    }
    return series;
  };

  const makeChild = (method: string, route: string, status: number): HttpChild => {
    const count = countOf(method, route, status);
    const series = durationOf(method, route);
    return {
      observe(seconds) {
        // The same refusal as prom-client's: a NaN would poison the sum for good.
        if (!Number.isFinite(seconds)) throw new TypeError(`duration is not a finite number: ${seconds}`);
        count.value += 1;
        series.sum += seconds;
        series.count += 1;
        let i = 0;
        while (i < bounds.length && seconds > (bounds[i] as number)) i++;
        (series.buckets[i] as number) += 1;
      },
    };
  };

  const counter: RegisteredMetric = {
    name: requests.name,
    help: requests.help,
    type: "counter",
    aggregator: "sum",
    async get() {
      const values = [...counts.values()].map(({ labels, value }) => ({ labels, value }));
      return { name: requests.name, help: requests.help, type: "counter", values, aggregator: "sum" };
    },
    // Children hold their series: forgetting them makes the next request of each find (or start) its series again.
    reset() {
      counts = new Map();
      children = new Map();
    },
  };

  /** prom-client's histogram records: cumulative buckets with `le`, +Inf, sum and count, per series. */
  const histogramValues = (split: boolean): ValueRecord[] => {
    const values: ValueRecord[] = [];
    const record = (labels: Record<string, string | number>, value: number, suffix: string, own: DurationSeries) =>
      split
        ? { labels, value, metricName: `${duration.name}${suffix}`, sharedLabels: own.labels }
        : { labels: { ...labels, ...own.labels }, value, metricName: `${duration.name}${suffix}` };
    for (const series of durations.values()) {
      let cumulative = 0;
      bounds.forEach((le, i) => {
        cumulative += series.buckets[i] as number;
        values.push({ ...record({ le }, cumulative, "_bucket", series), exemplar: null });
      });
      values.push({ ...record({ le: "+Inf" }, series.count, "_bucket", series), exemplar: null });
      values.push(record({}, series.sum, "_sum", series), record({}, series.count, "_count", series));
    }
    return values;
  };

  const histogram: RegisteredMetric = {
    name: duration.name,
    help: duration.help,
    type: "histogram",
    aggregator: "sum",
    async get() {
      return {
        name: duration.name,
        help: duration.help,
        type: "histogram",
        values: histogramValues(false),
        aggregator: "sum",
      };
    },
    // The registry's text formatter prefers this form (bucket labels first, then the series'), as for prom-client's own.
    async getForPromString() {
      return {
        name: duration.name,
        help: duration.help,
        type: "histogram",
        values: histogramValues(true),
        aggregator: "sum",
      };
    },
    reset() {
      durations = new Map();
      children = new Map();
    },
  };

  // The registry's contract is what it reads (name, get, getForPromString, reset, aggregator), not the class.
  registry.registerMetric(counter as unknown as Metric);
  registry.registerMetric(histogram as unknown as Metric);

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
        child = makeChild(method, route, status);
        statuses.set(status, child);
      }
      return child;
    },
  };
}

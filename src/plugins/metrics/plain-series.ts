/**
 * A labelled counter and histogram kept as plain numbers per label set, for the series a
 * hot path touches: prom-client builds, validates and hashes the label set on every `inc`
 * and `observe`, even through a child from `labels()` (on a cached device read that was
 * about half of the fast path's own work; in a burst of notifications, a tenth of the sink
 * decorator's). Here `labels()` finds the series once and its child only adds numbers.
 *
 * Both register on the registry as prom-client metrics do (name, help, type, value records
 * read by the registry's own formatter), so /metrics reads byte for byte as with prom-client's
 * classes: test/http-series.test.ts compares the two with the same observations.
 */
import type { Metric, Registry } from "prom-client";

type Labels = Record<string, string>;

interface Family {
  name: string;
  help: string;
  labelNames: readonly string[];
}

/** A value record as prom-client's registry formats it. */
interface ValueRecord {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
  sharedLabels?: Labels;
  exemplar?: null;
}

interface Exposed {
  name: string;
  help: string;
  type: "counter" | "histogram";
  values: ValueRecord[];
  aggregator: "sum";
}

/** What Registry.registerMetric and the registry's formatter read of a metric. */
interface RegisteredMetric {
  name: string;
  help: string;
  type: "counter" | "histogram";
  aggregator: "sum";
  get(): Promise<Exposed>;
  getForPromString?(): Promise<Exposed>;
  reset(): void;
}

export interface PlainCounter {
  labels(labels: Labels): { inc(n?: number): void };
}

export interface PlainHistogram {
  labels(labels: Labels): { observe(value: number): void };
}

/** The label set in the family's order (the order prom-client prints it in), and its key. */
function labelled(family: Family, given: Labels): { labels: Labels; key: string } {
  const labels: Labels = {};
  for (const name of family.labelNames) {
    const value = given[name];
    // prom-client's refusal: a label the family does not have, or one left out, is a bug in the caller.
    if (value === undefined) throw new TypeError(`${family.name}: label "${name}" missing`);
    labels[name] = String(value);
  }
  if (Object.keys(given).length !== family.labelNames.length) throw new TypeError(`${family.name}: unknown label`);
  return { labels, key: JSON.stringify(family.labelNames.map((name) => labels[name])) };
}

/**
 * A child's series: found (or made) at its first use, not when the child is made (as with
 * prom-client, a child never used shows no series), then held, and found again once a reset
 * has replaced the table.
 */
function heldSeries<S>(table: () => Map<string, S>, key: string, make: () => S): () => S {
  let held: S | undefined;
  let heldIn: Map<string, S> | undefined;
  return () => {
    const current = table();
    if (held === undefined || heldIn !== current) {
      let found = current.get(key);
      if (!found) {
        found = make();
        current.set(key, found);
      }
      held = found;
      heldIn = current;
    }
    return held;
  };
}

const register = (registry: Registry, metric: RegisteredMetric) =>
  // The registry's contract is what it reads (name, get, getForPromString, reset, aggregator), not the class.
  registry.registerMetric(metric as unknown as Metric);

export function createPlainCounter(registry: Registry, family: Family): PlainCounter {
  let series = new Map<string, { labels: Labels; value: number }>();
  register(registry, {
    name: family.name,
    help: family.help,
    type: "counter",
    aggregator: "sum",
    async get() {
      const values = [...series.values()].map(({ labels, value }) => ({ labels, value }));
      return { name: family.name, help: family.help, type: "counter", values, aggregator: "sum" };
    },
    reset() {
      series = new Map();
    },
  });
  return {
    labels(given) {
      const { labels, key } = labelled(family, given);
      const own = heldSeries(
        () => series,
        key,
        () => ({ labels, value: 0 }),
      );
      return {
        inc(n = 1) {
          if (!Number.isFinite(n) || n < 0) throw new TypeError(`${family.name}: cannot add ${n}`);
          own().value += n;
        },
      };
    },
  };
}

interface HistogramSeries {
  labels: Labels;
  /** Observations per bucket, not cumulative; the last slot counts those above every bound. */
  buckets: number[];
  sum: number;
  count: number;
}

export function createPlainHistogram(
  registry: Registry,
  family: Family & { buckets: readonly number[] },
): PlainHistogram {
  const bounds = [...family.buckets];
  let series = new Map<string, HistogramSeries>();

  /** prom-client's records: cumulative buckets with `le`, +Inf, sum and count, per series. */
  const values = (split: boolean): ValueRecord[] => {
    const out: ValueRecord[] = [];
    const record = (labels: Record<string, string | number>, value: number, suffix: string, own: Labels) =>
      split
        ? { labels, value, metricName: `${family.name}${suffix}`, sharedLabels: own }
        : { labels: { ...labels, ...own }, value, metricName: `${family.name}${suffix}` };
    for (const s of series.values()) {
      let cumulative = 0;
      bounds.forEach((le, i) => {
        cumulative += s.buckets[i] as number;
        out.push({ ...record({ le }, cumulative, "_bucket", s.labels), exemplar: null });
      });
      out.push({ ...record({ le: "+Inf" }, s.count, "_bucket", s.labels), exemplar: null });
      out.push(record({}, s.sum, "_sum", s.labels), record({}, s.count, "_count", s.labels));
    }
    return out;
  };
  const exposed = (split: boolean): Exposed => ({
    name: family.name,
    help: family.help,
    type: "histogram",
    values: values(split),
    aggregator: "sum",
  });
  register(registry, {
    name: family.name,
    help: family.help,
    type: "histogram",
    aggregator: "sum",
    get: async () => exposed(false),
    // The registry's text formatter prefers this form (bucket labels first, then the series'), as for prom-client's own.
    getForPromString: async () => exposed(true),
    reset() {
      series = new Map();
    },
  });
  return {
    labels(given) {
      const { labels, key } = labelled(family, given);
      const own = heldSeries(
        () => series,
        key,
        () => ({
          labels,
          buckets: new Array(bounds.length + 1).fill(0),
          sum: 0,
          count: 0,
        }),
      );
      return {
        observe(value) {
          // prom-client's refusal too: a NaN would poison the sum for good.
          if (!Number.isFinite(value)) throw new TypeError(`${family.name}: ${value} is not a finite number`);
          const held = own();
          held.sum += value;
          held.count += 1;
          let i = 0;
          while (i < bounds.length && value > (bounds[i] as number)) i++;
          (held.buckets[i] as number) += 1;
        },
      };
    },
  };
}

/**
 * docs/reference.md against the code it describes: every error code with its status,
 * every metric with its type and labels, every bounded label value the code can emit,
 * and the topics. A name added to or changed in the code without the page fails here.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AUTH_FAILURE_REASONS } from "../src/core/auth/contract.js";
import { AppError, ERROR_CODES, type ErrorCode, statusOf, toErrorBody } from "../src/core/errors.js";
import { TOPICS } from "../src/core/sinks/contract.js";
import { METRICS } from "../src/plugins/metrics/table.js";
import { BOOT_FAILURE_CODES } from "../src/runtimes/boot-failure.js";
import { ROOT } from "./support/server.js";

const page = await readFile(join(ROOT, "docs/reference.md"), "utf8");
/** The table rows of the page, as cells, keyed by their first cell without backticks. */
const rows = new Map(
  page
    .split("\n")
    .filter((line) => line.startsWith("| `"))
    .map((line) => {
      const cells = line
        .split("|")
        .slice(1, -1)
        .map((c) => c.trim());
      return [(cells[0] as string).replace(/`/g, ""), cells] as const;
    }),
);

describe("docs/reference.md", () => {
  it.each(ERROR_CODES.map((code) => [code, statusOf(code)] as const))(
    "lists error %s with status %i",
    (code, status) => {
      expect(rows.get(code)?.[1]).toBe(String(status));
    },
  );

  it.each(BOOT_FAILURE_CODES)("explains the reason code %s of a Worker that could not start", (code) => {
    expect(rows.get(code)?.[1]).toMatch(/\w/);
  });

  it.each(Object.values(METRICS).map((m) => [m.name, m] as const))(
    "describes metric %s: type and labels",
    (name, metric) => {
      const cells = rows.get(name);
      expect(cells, `${name} has a row`).toBeDefined();
      expect(cells?.[1]).toBe(metric.kind);
      // Label names, without the values listed in parentheses after some of them.
      const labels = [...(cells?.[2] ?? "").replace(/\([^)]*\)/g, "").matchAll(/`([a-z_]+)`/g)].map((m) => m[1]);
      expect(labels.sort()).toEqual([...metric.labels].sort());
    },
  );

  it("names every authentication failure reason the code can count", () => {
    const row = rows.get("iot_auth_failures_total")?.[2] ?? "";
    for (const reason of AUTH_FAILURE_REASONS) expect(row).toContain(`\`${reason}\``);
  });

  it("names every publish outcome, including skipped for the no-op sink", () => {
    const row = rows.get("iot_notifications_published_total")?.[2] ?? "";
    for (const outcome of ["success", "failure", "dropped", "skipped"]) expect(row).toContain(`\`${outcome}\``);
  });

  it("shows the error shape the server builds: same keys, a real code and its status", () => {
    const example = JSON.parse(/```json\n([\s\S]*?)```/.exec(page)?.[1] ?? "{}") as Record<string, unknown>;
    const built = toErrorBody(new AppError(example.code as ErrorCode, "x", { details: {} }), "id");
    expect(Object.keys(example).sort()).toEqual(Object.keys(built).sort());
    expect(example.status).toBe(statusOf(example.code as ErrorCode));
  });

  it("gives the topics as the sinks use them", () => {
    for (const topic of Object.values(TOPICS)) expect(page).toContain(`| \`${topic}\` |`);
    expect(page).toContain(`| \`${TOPICS.configs}/<mac>\` |`);
  });
});

/** The upload slots' bookkeeping and the client key a share is counted under (core/body-slots.ts, client-address.ts). */
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { isAppError } from "../src/core/errors.js";
import { clientKey, createBodySlots } from "../src/features/request-limits/body-slots.js";
import { clientAddress } from "../src/features/request-limits/client-address.js";

const codeOf = (work: () => unknown) => {
  try {
    work();
    return "none";
  } catch (error) {
    return isAppError(error) ? `${error.code} ${JSON.stringify(error.details)}` : String(error);
  }
};

describe("clientKey", () => {
  it.each([
    ["203.0.113.7", "203.0.113.7"],
    ["::ffff:203.0.113.7", "203.0.113.7"],
    ["2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"],
    ["2001:DB8:1:2::9", "2001:db8:1:2::/64"],
    ["2001:0db8:0001:0002:ffff::1", "2001:db8:1:2::/64"],
    ["[2001:db8::1]", "2001:db8:0:0::/64"],
    ["::1", "0:0:0:0::/64"],
    [undefined, "unknown"],
  ])("%s → %s", (address, key) => {
    expect(clientKey(address)).toBe(key);
  });
});

describe("createBodySlots", () => {
  it("refuses past the total, and past a client's share of unproven slots, each with its own detail", () => {
    const slots = createBodySlots({ total: 3, perClient: 2 }, "uploads");
    const a1 = slots.acquire("10.0.0.1");
    slots.acquire("10.0.0.1");
    expect(codeOf(() => slots.acquire("10.0.0.1"))).toBe('SERVER_BUSY {"max_uploads_per_client":2}');
    // Another address still gets the slot that is left; then the total is reached for everyone.
    slots.acquire("10.0.0.2");
    expect(codeOf(() => slots.acquire("10.0.0.3"))).toBe('SERVER_BUSY {"max_concurrent_uploads":3}');
    a1.release();
    a1.release();
    expect(slots.inUse()).toBe(2);
  });

  it("a proven slot leaves its client's share but still counts toward the total", () => {
    const slots = createBodySlots({ total: 4, perClient: 1 }, "uploads");
    const first = slots.acquire("10.0.0.1");
    expect(codeOf(() => slots.acquire("10.0.0.1"))).toContain("max_uploads_per_client");
    first.prove();
    const second = slots.acquire("10.0.0.1");
    expect(second.proven).toBe(false);
    slots.acquire("10.0.0.1", true);
    expect(slots.inUse()).toBe(3);
    first.release();
    second.release();
    expect(codeOf(() => slots.acquire("10.0.0.1"))).toBe("none");
  });
});

describe("clientAddress", () => {
  const seen = async (header: string | undefined, headers: Record<string, string>) => {
    const app = new Hono<{ Bindings: { peer?: string } }>().get("/", (c) => c.text(clientAddress(c, header) ?? "none"));
    return (await app.request("/", { headers }, { peer: "192.0.2.1" })).text();
  };

  it("is the connection's peer unless a header is configured; then only that header's last entry", async () => {
    expect(await seen(undefined, { "x-forwarded-for": "198.51.100.9" })).toBe("192.0.2.1");
    expect(await seen("x-forwarded-for", { "x-forwarded-for": "6.6.6.6, 198.51.100.9" })).toBe("198.51.100.9");
    expect(await seen("x-real-ip", { "x-real-ip": " 198.51.100.10 " })).toBe("198.51.100.10");
    // The proxy did not set it: the peer (the proxy itself) is what is known.
    expect(await seen("x-real-ip", {})).toBe("192.0.2.1");
  });
});

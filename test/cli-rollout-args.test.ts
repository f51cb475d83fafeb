/**
 * iot-rollout's command line (src/cli/rollout-args.ts, rollout-create-args.ts) and the create
 * body it builds (rollout-create.ts): what is refused with exit status 2 before any request,
 * and what is sent. The command runs in this process (runRollout), with a fetch that fails the
 * test if called: a usage error must never reach the network.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseRolloutCommand } from "../src/cli/rollout-args.js";
import { createBody } from "../src/cli/rollout-create.js";
import type { CreateOptions } from "../src/cli/rollout-create-args.js";
import { readTextFile, runRollout } from "../src/cli/rollout-main.js";
import { FIXTURE_CONDITIONS_ARGV } from "./support/rollout-fixture.js";

const SERVER = "http://127.0.0.1:3201";
const CREATE = [
  "create",
  "--name",
  "fw 1.4.2",
  "--patch",
  '{"firmware": {"version": "1.4.2"}}',
  "--targets",
  "all",
  "--waves",
  "1,10,50,100",
  ...FIXTURE_CONDITIONS_ARGV,
  "--server",
  SERVER,
];

/** argv with the value after `flag` replaced, or the flag and its value removed (value undefined). */
function withOption(argv: string[], flag: string, value: string | undefined): string[] {
  const at = argv.indexOf(flag);
  const copy = [...argv];
  if (value === undefined) copy.splice(at, 2);
  else copy[at + 1] = value;
  return copy;
}

async function run(argv: string[]) {
  let stdout = "";
  let stderr = "";
  const code = await runRollout({
    argv,
    env: {},
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    fetch: () => {
      throw new Error("a usage error must not send a request");
    },
    clock: () => new Date(),
    sleep: async () => {},
    platform: process.platform,
    readText: readTextFile,
  });
  return { code, stdout, stderr };
}

describe("iot-rollout's command line", () => {
  it("parses create into the options SPEC's body needs", () => {
    const command = parseRolloutCommand(CREATE, {});
    expect(command).toMatchObject({
      kind: "run",
      json: false,
      run: {
        command: "create",
        create: {
          name: "fw 1.4.2",
          patch: { from: "text", text: '{"firmware": {"version": "1.4.2"}}' },
          targets: "all",
          waves: [1, 10, 50, 100],
          appliedPercent: 90,
          withinSeconds: 600,
          failedPercent: 10,
        },
      },
    });
    if (command.kind !== "run") throw new Error("not a run");
    expect(command.connection.base.href).toBe(`${SERVER}/`);
    expect(command.connection.admin).toEqual({ from: "none" });
  });

  it("takes MACs in any case, in the order given, and the server and token from the environment", () => {
    const argv = withOption(CREATE, "--targets", "AA-BB-CC-DD-EE-02,aa-bb-cc-dd-ee-01").slice(0, -2);
    const command = parseRolloutCommand(argv, { IOT_SERVER_URL: SERVER, IOT_ADMIN_TOKEN: "iot_abc" });
    expect(command).toMatchObject({
      run: { create: { targets: ["aa-bb-cc-dd-ee-02", "aa-bb-cc-dd-ee-01"] } },
      connection: { admin: { from: "env", token: "iot_abc" } },
    });
  });

  it("parses status --watch with its interval, and the actions with their id", () => {
    expect(parseRolloutCommand(["status", "7", "--server", SERVER], {})).toMatchObject({
      run: { command: "status", id: "7" },
    });
    expect(parseRolloutCommand(["status", "7", "--watch", "--server", SERVER], {})).toMatchObject({
      run: { command: "status", id: "7", watch: { intervalMs: 1000 } },
    });
    expect(
      parseRolloutCommand(["status", "12", "--watch", "--interval", "0.5", "--json", "--server", SERVER], {}),
    ).toMatchObject({ json: true, run: { watch: { intervalMs: 500 } } });
    for (const action of ["pause", "resume", "abort", "rollback"]) {
      expect(parseRolloutCommand([action, "123456789", "--server", SERVER], {})).toMatchObject({
        run: { command: action, id: "123456789" },
      });
    }
  });

  it("prints the general help and each command's", async () => {
    const general = await run(["--help"]);
    expect(general.code).toBe(0);
    expect(general.stdout).toContain("Usage: iot-rollout create");
    expect(general.stdout).toContain("4  status --watch only: the rollout ended without completing");
    const create = await run(["create", "--help"]);
    expect(create.stdout).toContain("--advance-applied PERCENT");
    const status = await run(["status", "-h"]);
    expect(status.stdout).toContain("--interval S");
    const rollback = await run(["rollback", "--help"]);
    expect(rollback.stdout).toContain("Usage: iot-rollout rollback ID");
  });

  it.each<[string, string[], string]>([
    ["no command", ["--server", SERVER], "missing the command: one of create, list, status"],
    ["an unknown command", ["deploy", "--server", SERVER], 'unknown command "deploy"'],
    ["an unknown option", ["list", "--server", SERVER, "--colour"], "Unknown option '--colour'"],
    ["no server", ["list"], "missing --server URL (or set IOT_SERVER_URL)"],
    ["credentials in --server", ["list", "--server", "http://me:pw@host:3201"], "must not contain a user name"],
    ["a status without id", ["status", "--server", SERVER], "missing the rollout id"],
    ["an id that is none", ["pause", "07", "--server", SERVER], '"07" is not a rollout id'],
    ["two ids", ["abort", "7", "8", "--server", SERVER], "expected one rollout id after abort"],
    ["list with an argument", ["list", "7", "--server", SERVER], "list takes no arguments"],
    ["an option of another command", ["status", "7", "--waves", "100", "--server", SERVER], "--waves goes with create"],
    ["--watch on an action", ["pause", "7", "--watch", "--server", SERVER], "--watch goes with status, not with pause"],
    [
      "--interval without --watch",
      ["status", "7", "--interval", "2", "--server", SERVER],
      "--interval goes with --watch",
    ],
    ["an interval too short", ["status", "7", "--watch", "--interval", "0.01", "--server", SERVER], "--interval must"],
    ["an interval in words", ["status", "7", "--watch", "--interval", "soon", "--server", SERVER], "--interval must"],
    [
      "an admin token on argv",
      ["list", "--admin-token", "iot_secret", "--server", SERVER],
      "never taken from the command line",
    ],
    ["create without a name", withOption(CREATE, "--name", undefined), "create needs --name"],
    ["create with a blank name", withOption(CREATE, "--name", "  "), "create needs --name"],
    ["create without a patch", withOption(CREATE, "--patch", undefined), "create needs --patch JSON or --patch-file"],
    ["a patch twice over", [...CREATE, "--patch-file", "p.json"], "give --patch JSON or --patch-file FILE, not both"],
    ["create without targets", withOption(CREATE, "--targets", undefined), "create needs --targets"],
    ["a MAC with colons", withOption(CREATE, "--targets", "aa:bb:cc:dd:ee:01"), "did you mean aa-bb-cc-dd-ee-01?"],
    [
      "a MAC twice",
      withOption(CREATE, "--targets", "aa-bb-cc-dd-ee-01,AA-BB-CC-DD-EE-01"),
      "names aa-bb-cc-dd-ee-01 twice",
    ],
    ["no MAC at all", withOption(CREATE, "--targets", " , "), "--targets names no MAC address"],
    ["waves not ending at 100", withOption(CREATE, "--waves", "1,10,50"), "the last of --waves must be 100"],
    ["waves not increasing", withOption(CREATE, "--waves", "10,10,100"), "each is larger than the one before"],
    ["a wave over 100", withOption(CREATE, "--waves", "50,150"), 'whole percentages from 1 to 100, got "150"'],
    ["a wave of 0", withOption(CREATE, "--waves", "0,100"), 'got "0"'],
    ["a fractional wave", withOption(CREATE, "--waves", "2.5,100"), 'got "2.5"'],
    ["no waves", withOption(CREATE, "--waves", undefined), "create needs --waves"],
    ["an unknown evidence", [...CREATE, "--evidence", "trust"], "--evidence must be report or fetch"],
    ["an applied share of 0", withOption(CREATE, "--advance-applied", "0"), "--advance-applied must be a whole number"],
    ["a failed share over 100", withOption(CREATE, "--halt-failed", "101"), "--halt-failed must be a whole number"],
    ["no halt rule", withOption(CREATE, "--halt-failed", undefined), "create needs --halt-failed"],
    ["a deadline of 0 s", withOption(CREATE, "--within", "0"), "--within must be a whole number of seconds"],
    ["a patch that is not JSON", withOption(CREATE, "--patch", "{firmware: 1}"), "--patch is not JSON"],
    ["a patch that is a list", withOption(CREATE, "--patch", "[1]"), "--patch must be a JSON object"],
    ["a patch that is null", withOption(CREATE, "--patch", "null"), "--patch must be a JSON object"],
  ])("refuses %s with exit status 2, the reason and the usage, sending nothing", async (_, argv, reason) => {
    const result = await run(argv);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(`iot-rollout: `);
    expect(result.stderr).toContain(reason);
    // Options are refused with the usage text; a patch is read after parsing, so its refusal comes alone.
    if (!reason.startsWith("--patch ")) expect(result.stderr).toContain("Usage: iot-rollout");
    expect(result.stderr).not.toContain("iot_secret");
  });

  it("escapes what it echoes of a bad argument", async () => {
    const result = await run(["status", "\u001b[2J7", "--server", SERVER]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('"\\x1b[2J7" is not a rollout id');
    expect(result.stderr).not.toContain("\u001b");
  });
});

describe("iot-rollout create's body", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "iot-rollout-args-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const options = (over: Partial<CreateOptions>): CreateOptions => ({
    name: "fw",
    patch: { from: "text", text: '{"a": 1}' },
    targets: "all",
    waves: [50, 100],
    appliedPercent: 90,
    withinSeconds: 60,
    failedPercent: 5,
    ...over,
  });

  it("is SPEC's body, evidence only when given", async () => {
    expect(await createBody(options({}), readTextFile)).toEqual({
      name: "fw",
      patch: { a: 1 },
      targets: "all",
      waves: [50, 100],
      advance_when: { applied_percent: 90, within_s: 60 },
      halt_when: { failed_percent: 5 },
    });
    expect(await createBody(options({ evidence: "fetch" }), readTextFile)).toMatchObject({ evidence: "fetch" });
  });

  it("reads the patch and the targets from files (MACs by comma, space or line, # comments)", async () => {
    const patch = join(dir, "patch.json");
    const targets = join(dir, "targets.txt");
    await writeFile(patch, '{"firmware": {"url": "https://x/fw.bin", "version": null}}\n');
    await writeFile(targets, "# canary devices\nAA-BB-CC-DD-EE-03, aa-bb-cc-dd-ee-01\n\naa-bb-cc-dd-ee-02 # the lab\n");
    const body = await createBody(
      options({ patch: { from: "file", path: patch }, targets: { from: "file", path: targets } }),
      readTextFile,
    );
    expect(body.patch).toEqual({ firmware: { url: "https://x/fw.bin", version: null } });
    expect(body.targets).toEqual(["aa-bb-cc-dd-ee-03", "aa-bb-cc-dd-ee-01", "aa-bb-cc-dd-ee-02"]);
  });

  it("refuses missing, unreadable and wrong files with exit status 2, naming the file", async () => {
    const missing = join(dir, "nope.json");
    const notPatch = join(dir, "list.json");
    const badTargets = join(dir, "bad-targets.txt");
    await writeFile(notPatch, "[]");
    await writeFile(badTargets, "aa-bb-cc-dd-ee-01\nkitchen\n");
    const cases: Array<[string, string, string]> = [
      ["--patch-file", missing, `cannot read the patch file ${missing}: no such file`],
      ["--patch-file", dir, `cannot read the patch file ${dir}: it is not a regular file`],
      ["--patch-file", notPatch, `--patch-file ${notPatch} must be a JSON object`],
    ];
    for (const [flag, path, reason] of cases) {
      const result = await run([...withOption(CREATE, "--patch", undefined), flag, path]);
      expect(result).toMatchObject({ code: 2, stdout: "" });
      expect(result.stderr).toContain(reason);
    }
    const targets = await run([...withOption(CREATE, "--targets", undefined), "--targets-file", badTargets]);
    expect(targets).toMatchObject({ code: 2, stdout: "" });
    expect(targets.stderr).toContain('"kitchen" is not a MAC address');
  });
});

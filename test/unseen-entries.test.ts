/**
 * Entries named like a config or an asset that a read cannot see (issue 16, security
 * re-probe): a link out of the directory, a dangling or looping link, a FIFO, a socket, a
 * directory. Reads have said "absent" for them since issue 8, but a create-only PUT said
 * 409 (the name was taken) and DELETE unlinked them. Now every operation gives the answer a
 * read gives: such an entry does not exist, so a PUT creates the config in its place (an
 * atomic rename over it) and a DELETE is 404 and leaves it alone, and the listing and the
 * file count agree. A link to a file inside the directory is seen by reads, so it exists
 * for every operation too. A directory cannot be replaced by a file: 409 NAME_OCCUPIED.
 * Real entries on a real filesystem, in-process app (test/support/app.ts).
 */
import { execFileSync } from "node:child_process";
import { lstat, mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestApp, signedUpload, type TestApp } from "./support/app.js";
import { expectError, json, metricValue } from "./support/http.js";

const MAC = "aa-bb-cc-dd-ee-ff";
const FILE = `${MAC}.json`;
/** A valid config that a link may point at: if any answer shows it, the link was followed. */
const ELSEWHERE = `${JSON.stringify({ deviceName: "elsewhere" }, null, 2)}`;

type Kind = "link-out" | "dangling" | "loop" | "link-to-dir" | "fifo" | "socket" | "directory" | "link-inside";

interface Entry {
  kind: Kind;
  /** What a read sees: only a link to a regular file in the same directory. */
  visible: boolean;
}

const ENTRIES: Entry[] = [
  { kind: "link-out", visible: false },
  { kind: "dangling", visible: false },
  { kind: "loop", visible: false },
  { kind: "link-to-dir", visible: false },
  { kind: "fifo", visible: false },
  { kind: "socket", visible: false },
  { kind: "directory", visible: false },
  { kind: "link-inside", visible: true },
];

/** The type an lstat reports, to prove an entry was left exactly as it was, or replaced by a file. */
async function typeOf(path: string): Promise<string> {
  const info = await lstat(path);
  if (info.isSymbolicLink()) return "link";
  if (info.isFIFO()) return "fifo";
  if (info.isSocket()) return "socket";
  if (info.isDirectory()) return "directory";
  return info.isFile() ? "file" : "other";
}

const ENTRY_TYPE: Record<Kind, string> = {
  "link-out": "link",
  dangling: "link",
  loop: "link",
  "link-to-dir": "link",
  fifo: "fifo",
  socket: "socket",
  directory: "directory",
  "link-inside": "link",
};

let t: TestApp;
let sockets: Server[] = [];
beforeEach(async () => {
  t = await createTestApp("fs");
});
afterEach(async () => {
  for (const server of sockets) server.close();
  sockets = [];
  await t.cleanup();
});

/** Places an entry of `kind` named `name` in `dir`, with a file outside and one inside that links may reach. */
async function place(kind: Kind, dir: string, name: string): Promise<void> {
  const root = t.root as string;
  const path = join(dir, name);
  await writeFile(join(root, "outside.json"), ELSEWHERE);
  await writeFile(join(dir, "shared.bin"), ELSEWHERE);
  await mkdir(join(dir, "folder"));
  if (kind === "link-out") await symlink("../outside.json", path);
  else if (kind === "dangling") await symlink("gone.json", path);
  else if (kind === "loop") await symlink(name, path);
  else if (kind === "link-to-dir") await symlink("folder", path);
  else if (kind === "link-inside") await symlink("shared.bin", path);
  else if (kind === "fifo") execFileSync("mkfifo", [path]);
  else if (kind === "directory") {
    await mkdir(path);
    await writeFile(join(path, "inside.txt"), "someone's file");
  } else {
    const server = createServer();
    sockets.push(server);
    await new Promise<void>((resolve) => server.listen(path, resolve));
  }
}

/** What reaching past the entry would have changed: both stay as they were, whatever the answer. */
async function expectOthersUntouched(dir: string) {
  expect(await readFile(join(t.root as string, "outside.json"), "utf8")).toBe(ELSEWHERE);
  expect(await readFile(join(dir, "shared.bin"), "utf8")).toBe(ELSEWHERE);
}

const filesCount = async () => metricValue(await t.registry.metrics(), "iot_config_files_count");
const put = (allowOverwrite: boolean) =>
  t.app.request(`/api/configs/${MAC}`, json({ content: { deviceName: "new" }, allow_overwrite: allowOverwrite }));

describe.each(ENTRIES)("a $kind named <mac>.json in the configs directory", ({ kind, visible }) => {
  let dir: string;
  let path: string;
  beforeEach(async () => {
    dir = t.settings.configsDir;
    path = join(dir, FILE);
    await place(kind, dir, FILE);
  });

  it(`is ${visible ? "present" : "absent"} alike for the admin read, the device read, the listing and the driver`, async () => {
    const admin = await t.app.request(`/api/configs/${MAC}`);
    const device = await t.app.request(`/files/configs/${FILE}`);
    const listing = (await (await t.app.request("/api/configs")).json()) as { configs: Array<{ mac_address: string }> };
    if (visible) {
      expect(admin.status).toBe(200);
      expect(((await admin.json()) as { device_name: string }).device_name).toBe("elsewhere");
      expect(device.status).toBe(200);
      expect(await device.text()).toBe(ELSEWHERE);
      expect(listing.configs.map((c) => c.mac_address)).toEqual([MAC]);
      expect(await t.storage.list("configs")).toContain(FILE);
    } else {
      await expectError(admin, 404, "RECORD_NOT_FOUND");
      expect(device.status).toBe(404);
      expect(listing.configs).toEqual([]);
      expect(await t.storage.list("configs")).not.toContain(FILE);
    }
  });

  it.each([false, true])("PUT with allow_overwrite: %s", async (allowOverwrite) => {
    const res = await put(allowOverwrite);
    if (kind === "directory") {
      // A file cannot take a directory's name, and the server does not delete what it did not make.
      const error = await expectError(res, 409, "NAME_OCCUPIED");
      expect(error.details).toEqual({ mac_address: MAC });
      expect(await typeOf(path)).toBe("directory");
      expect(await readFile(join(path, "inside.txt"), "utf8")).toBe("someone's file");
      expect(t.sink.published).toEqual([]);
    } else if (visible && !allowOverwrite) {
      await expectError(res, 409, "RECORD_EXISTS");
      expect(await typeOf(path)).toBe("link");
      expect(t.sink.published).toEqual([]);
    } else {
      expect(res.status).toBe(200);
      // The name itself now holds the new config; whatever the entry pointed at is untouched.
      expect(await typeOf(path)).toBe("file");
      expect(JSON.parse(await readFile(path, "utf8"))).toEqual({ deviceName: "new" });
      expect((await (await t.app.request(`/files/configs/${FILE}`)).json()).deviceName).toBe("new");
      expect(t.sink.published.map((n) => n.payload)).toEqual([{ filename: FILE }]);
      // Created when nothing a read could see was there: the file count goes up by one.
      expect(await filesCount()).toBe(visible ? 0 : 1);
    }
    await expectOthersUntouched(dir);
  });

  it(`DELETE ${visible ? "removes the link (not its target)" : "is 404 and leaves the entry alone"}`, async () => {
    const res = await t.app.request(`/api/configs/${MAC}`, { method: "DELETE" });
    if (visible) {
      expect(res.status).toBe(204);
      await expect(lstat(path)).rejects.toMatchObject({ code: "ENOENT" });
    } else {
      expect((await expectError(res, 404, "RECORD_NOT_FOUND")).details).toEqual({ mac_address: MAC });
      expect(await typeOf(path)).toBe(ENTRY_TYPE[kind]);
      expect(await filesCount()).toBe(0);
    }
    await expectOthersUntouched(dir);
  });
});

describe.each(ENTRIES)("a $kind named like an uploaded asset", ({ kind, visible }) => {
  it(`is ${visible ? "listed" : "not listed"}, and an upload of that name ${kind === "directory" ? "is 409 NAME_OCCUPIED" : "replaces it"}`, async () => {
    const dir = t.settings.assetsDir;
    const path = join(dir, "fw.bin");
    await place(kind, dir, "fw.bin");
    expect((await t.storage.list("assets")).includes("fw.bin")).toBe(visible);
    const { body, contentType } = signedUpload(t, "fw.bin", "new firmware");
    const res = await t.app.request("/api/assets", { method: "POST", headers: { "Content-Type": contentType }, body });
    if (kind === "directory") {
      expect((await expectError(res, 409, "NAME_OCCUPIED")).details).toEqual({ filename: "fw.bin" });
      expect(await typeOf(path)).toBe("directory");
      expect(await readFile(join(path, "inside.txt"), "utf8")).toBe("someone's file");
      expect(t.sink.published).toEqual([]);
    } else {
      expect(res.status).toBe(200);
      expect(await typeOf(path)).toBe("file");
      expect(await (await t.app.request("/files/assets/fw.bin")).text()).toBe("new firmware");
      expect(await t.storage.list("assets")).toContain("fw.bin");
    }
    await expectOthersUntouched(dir);
  });
});

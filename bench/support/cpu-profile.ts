/**
 * Summarises a V8 .cpuprofile (node --cpu-prof): the functions with the most self time,
 * as a share of all samples, named `function (file:line)` with paths cut to something
 * readable (node_modules/<package>/…, src/…, node:…). Given the bundle's source map, a
 * frame in the bundle is named by its original file and line.
 */
import { readFile } from "node:fs/promises";
import { SourceMap } from "node:module";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  ms: number;
  share: number;
}

const shortUrl = (url: string) => {
  const path = url.replace(/^file:\/\//, "");
  const modules = path.lastIndexOf("node_modules/");
  if (modules >= 0) return path.slice(modules);
  const src = path.indexOf("/src/");
  if (src >= 0) return path.slice(src + 1);
  const dist = path.indexOf("/dist/");
  return dist >= 0 ? path.slice(dist + 1) : path;
};

/** `bundle` names the bundled file whose frames `sourceMap` (its .map file) maps back. */
export async function topSelfTime(
  file: string,
  top = 15,
  map?: { bundle: string; sourceMap: string },
): Promise<SelfTime[]> {
  const profile = JSON.parse(await readFile(file, "utf8")) as CpuProfile;
  const sourceMap = map ? new SourceMap(JSON.parse(await readFile(map.sourceMap, "utf8"))) : undefined;
  const where = ({ url, lineNumber, columnNumber }: ProfileNode["callFrame"]) => {
    if (sourceMap && map && url.endsWith(map.bundle)) {
      const entry = sourceMap.findEntry(lineNumber, columnNumber) as { originalSource?: string; originalLine?: number };
      if (entry.originalSource) return `${shortUrl(entry.originalSource)}:${(entry.originalLine ?? 0) + 1}`;
    }
    return `${shortUrl(url)}:${lineNumber + 1}`;
  };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const micros = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    const delta = profile.timeDeltas[i] ?? 0;
    if (!node) return;
    const { functionName, url } = node.callFrame;
    const name = url ? `${functionName || "(anonymous)"} (${where(node.callFrame)})` : functionName || "(anonymous)";
    micros.set(name, (micros.get(name) ?? 0) + delta);
    total += delta;
  });
  return [...micros.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, us]) => ({ name, ms: us / 1000, share: us / total }));
}

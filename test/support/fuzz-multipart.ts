/**
 * Random upload requests for the multipart fuzz test, and the oracle that says
 * what the server must answer to each. An upload is generated as a plan (which
 * parts, in which order, which boundary, which damage to the body); `buildUpload`
 * turns a plan into bytes at request time (so timestamps are current) and derives
 * the expected outcome from the contract, not from the server's code.
 */
import fc from "fast-check";
import { acceptableFilename, concatBytes, containsBytes, type RawPart, rawMultipart } from "./fuzz-helpers.js";
import { freshTimestamp } from "./upload-stream.js";

const enc = new TextEncoder();

/** Names from plausible to hostile: unicode, control characters, `..`, separators, dots, `.tmp`, long. */
export const fuzzyFilename = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,24}[A-Za-z0-9]$/) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 20 }) },
  {
    weight: 3,
    arbitrary: fc
      .array(
        fc.oneof(
          fc.constantFrom(
            ...["..", ".", "/", "\\", "\u0000", "\r", "\n", "\t", "\u0001", "\u007f", "\u0085", "\u202e", "\u00a0"],
            ...[".tmp", ".TMP", ".iotsupport-", " ", "\u00e9", "\u{1F600}", '"', "%22", ";", "=", "*", "'", "%00"],
          ),
          fc.string({ maxLength: 4 }),
        ),
        { minLength: 1, maxLength: 6 },
      )
      .map((pieces) => pieces.join("")),
  },
  { weight: 1, arbitrary: fc.string({ unit: "binary", minLength: 100, maxLength: 400 }) },
  { weight: 1, arbitrary: fc.integer({ min: 250, max: 300 }).map((n) => "f".repeat(n)) },
);

export type TsKind = "now" | "offset" | "bare" | "stale" | "garbage";
export type SigKind = "valid" | "garbage" | "other";
type FilePart = {
  kind: "file";
  name: string;
  filename: string;
  encoding: "plain" | "extended";
  content: Uint8Array;
  /** Adds "\r\n--" and the first `tease` characters of the boundary inside the content. */
  tease: number | null;
};
type TimestampPart = { kind: "timestamp"; ts: TsKind; garbage: string; withFilename: boolean };
type SignaturePart = { kind: "signature"; sig: SigKind; garbage: string; withFilename: boolean };
type ExtraPart = { kind: "extra"; name: string; filename: string | null; content: Uint8Array };
export type PartPlan = FilePart | TimestampPart | SignaturePart | ExtraPart;

export type CtKind = "plain" | "quoted" | "upper" | "mismatch" | "no-boundary" | "wrong-type" | "too-long";
export type Mutation =
  | { kind: "none" }
  | { kind: "preamble" | "epilogue" | "garbage"; bytes: Uint8Array }
  | { kind: "truncate"; fraction: number }
  | { kind: "no-close" };

export interface UploadPlan {
  parts: PartPlan[];
  boundary: string;
  ct: CtKind;
  mutation: Mutation;
  /** Sent as a stream of chunks this big, or in one piece when null. */
  chunkSize: number | null;
  /** Store an earlier asset under the upload's name first: a rejected upload must leave it alone. */
  preseed: boolean;
}

const filePart = (name: fc.Arbitrary<string>): fc.Arbitrary<PartPlan> =>
  fc.record({
    kind: fc.constant("file" as const),
    name,
    filename: fuzzyFilename,
    encoding: fc.constantFrom("plain" as const, "extended" as const),
    content: fc.uint8Array({ maxLength: 600 }),
    tease: fc.option(fc.nat({ max: 70 }), { freq: 3, nil: null }),
  });
/** A field part that also carries a filename is a file part, not the field: the server ignores it. */
const rarely = fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) });
const timestampPart = (ts: fc.Arbitrary<TsKind>, withFilename: fc.Arbitrary<boolean>): fc.Arbitrary<PartPlan> =>
  fc.record({
    kind: fc.constant("timestamp" as const),
    ts,
    garbage: fc.string({ unit: "binary", maxLength: 40 }),
    withFilename,
  });
const signaturePart = (sig: fc.Arbitrary<SigKind>, withFilename: fc.Arbitrary<boolean>): fc.Arbitrary<PartPlan> =>
  fc.record({
    kind: fc.constant("signature" as const),
    sig,
    garbage: fc.string({ unit: "binary", maxLength: 60 }),
    withFilename,
  });
const extraPart: fc.Arbitrary<PartPlan> = fc.record({
  kind: fc.constant("extra" as const),
  // No backslash and none of the three field names, so the name the server sees is known and ignored.
  name: fc
    .string({ unit: "binary", maxLength: 12 })
    .filter((n) => !n.includes("\\") && !["file", "timestamp", "signature"].includes(n)),
  filename: fc.option(fuzzyFilename, { nil: null }),
  content: fc.uint8Array({ maxLength: 100 }),
});

/** Usually one part of a kind, sometimes none or two. */
const some = (arb: fc.Arbitrary<PartPlan>) =>
  fc.oneof(
    { weight: 8, arbitrary: arb.map((p) => [p]) },
    { weight: 1, arbitrary: fc.constant<PartPlan[]>([]) },
    { weight: 1, arbitrary: fc.tuple(arb, arb).map((pair): PartPlan[] => pair) },
  );
const shuffled = (groups: ReadonlyArray<readonly PartPlan[]>) => {
  const all = groups.flat();
  return fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length });
};

const boundaryArb = fc.oneof(
  fc.stringMatching(/^[0-9A-Za-z'()+_,./:=?-]{1,70}$/),
  fc.stringMatching(/^[0-9A-Za-z]{16}$/).map((s) => `----WebKitFormBoundary${s}`),
);
const bytes = fc.uint8Array({ maxLength: 200 });
const chunkSize = fc.option(fc.integer({ min: 1, max: 4096 }), { nil: null });

/** Bodies a client could send: one of each part in any order, valid fields; only the filename is left to chance. */
const wellFormed: fc.Arbitrary<UploadPlan> = fc.record({
  parts: fc
    .tuple(
      filePart(fc.constant("file")).map((p) => [p]),
      timestampPart(fc.constantFrom("now", "offset", "bare"), fc.constant(false)).map((p) => [p]),
      signaturePart(fc.constant("valid"), fc.constant(false)).map((p) => [p]),
      fc.array(extraPart, { maxLength: 2 }),
    )
    .chain(shuffled),
  boundary: boundaryArb,
  ct: fc.constantFrom<CtKind>("plain", "quoted", "upper"),
  mutation: fc.oneof(
    { weight: 4, arbitrary: fc.constant({ kind: "none" as const }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom("preamble" as const, "epilogue" as const), bytes }) },
  ),
  chunkSize,
  preseed: fc.boolean(),
});

/** Anything: missing, doubled and misnamed parts, stale or forged fields, broken headers and bodies. */
const fuzzed: fc.Arbitrary<UploadPlan> = fc.record({
  parts: fc
    .tuple(
      some(filePart(fc.constantFrom("file", "file", "file", "file", "File", "upload", "file[]"))),
      some(timestampPart(fc.constantFrom("now", "now", "offset", "bare", "stale", "garbage"), rarely)),
      some(signaturePart(fc.constantFrom("valid", "valid", "valid", "garbage", "other"), rarely)),
      fc.array(extraPart, { maxLength: 2 }),
    )
    .chain(shuffled),
  boundary: boundaryArb,
  ct: fc.constantFrom<CtKind>(
    ...(["plain", "plain", "plain", "plain", "quoted", "upper"] as const),
    ...(["mismatch", "no-boundary", "wrong-type", "too-long"] as const),
  ),
  mutation: fc.oneof(
    { weight: 8, arbitrary: fc.constant({ kind: "none" as const }) },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constantFrom("preamble" as const, "epilogue" as const, "garbage" as const),
        bytes,
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant("truncate" as const),
        fraction: fc.double({ min: 0, max: 1, noNaN: true }),
      }),
    },
    { weight: 1, arbitrary: fc.constant({ kind: "no-close" as const }) },
  ),
  chunkSize,
  preseed: fc.boolean(),
});

export const uploadPlan = fc.oneof({ weight: 2, arbitrary: wellFormed }, { weight: 3, arbitrary: fuzzed });

/** The filename the server parses from what `rawMultipart` sends (plain names are quoted as browsers do). */
export const seenFilename = (p: { filename: string; encoding: "plain" | "extended" }) =>
  p.encoding === "extended" ? p.filename : p.filename.replace(/"/g, "%22").replace(/\r/g, "%0D").replace(/\n/g, "%0A");

/** A fresh millisecond for every timestamp: the server accepts each signature once. */
export function timestampText(kind: TsKind, garbage: string, now = Date.parse(freshTimestamp())): string {
  switch (kind) {
    case "now":
      return new Date(now).toISOString();
    case "offset":
      return new Date(now + 2 * 3600_000).toISOString().replace("Z", "+02:00");
    case "bare":
      return new Date(now).toISOString().replace("Z", "");
    case "stale":
      return new Date(now - 3600_000).toISOString();
    case "garbage":
      return garbage;
  }
}

/**
 * What the server must answer: 200 with the file stored, or 400 (naming `field`
 * when the body is well formed), or `unknown` when a delimiter occurs inside a
 * part or the preamble, so that the parser's view of the body is not predictable.
 */
export type Expectation = { status: 200 } | { status: 400; field?: string } | { status: "unknown" };

export interface BuiltUpload {
  body: Uint8Array<ArrayBuffer>;
  contentType: string;
  /** The name the server sees for the one `file` part, if there is exactly one. */
  filename?: string;
  fileBytes?: Uint8Array;
  expected: Expectation;
}

export function buildUpload(plan: UploadPlan, sign: (text: string) => string): BuiltUpload {
  const boundary = plan.ct === "too-long" ? `${plan.boundary}${"b".repeat(71)}` : plan.boundary;
  const delimiter = enc.encode(`\r\n--${boundary}`);

  // Timestamps are taken now; "valid" signatures sign the first timestamp part actually sent.
  const firstTs = plan.parts.find((p) => p.kind === "timestamp");
  const tsSent = firstTs?.kind === "timestamp" ? timestampText(firstTs.ts, firstTs.garbage) : "none";
  const raw = plan.parts.map((p): RawPart => {
    if (p.kind === "file") {
      const tease =
        p.tease === null
          ? []
          : [enc.encode(`\r\n--${boundary.slice(0, Math.min(p.tease, boundary.length - 1))}`), p.content];
      return { name: p.name, filename: p.filename, encoding: p.encoding, value: concatBytes([p.content, ...tease]) };
    }
    if (p.kind === "timestamp") {
      const value = enc.encode(p === firstTs ? tsSent : timestampText(p.ts, p.garbage));
      return { name: "timestamp", filename: p.withFilename ? "ts.txt" : undefined, value };
    }
    if (p.kind === "signature") {
      const sig = p.sig === "valid" ? sign(tsSent) : p.sig === "other" ? sign(`${tsSent} `) : p.garbage;
      return { name: "signature", filename: p.withFilename ? "sig.txt" : undefined, value: enc.encode(sig) };
    }
    return { name: p.name, filename: p.filename ?? undefined, encoding: "extended", value: p.content };
  });

  let body = rawMultipart(raw, boundary);
  let unknown = raw.some((p) => containsBytes(p.value, delimiter));
  let broken = false;
  const { mutation } = plan;
  if (mutation.kind === "preamble") {
    body = concatBytes([mutation.bytes, enc.encode("\r\n"), body]);
    if (containsBytes(mutation.bytes, enc.encode(`--${boundary}`))) unknown = true;
  } else if (mutation.kind === "epilogue") body = concatBytes([body, mutation.bytes]);
  else if (mutation.kind === "garbage") {
    body = concatBytes([mutation.bytes]);
    broken = true;
  } else if (mutation.kind === "truncate") {
    const cut = Math.floor(body.length * mutation.fraction);
    // Cutting only the CRLF after the closing "--" leaves a complete body.
    if (cut < body.length - 2) broken = true;
    body = body.slice(0, cut);
  } else if (mutation.kind === "no-close") {
    body = body.slice(0, body.length - enc.encode(`--${boundary}--\r\n`).length);
    broken = true;
  }
  const contentType = {
    plain: `multipart/form-data; boundary=${boundary}`,
    quoted: `multipart/form-data; boundary="${boundary}"`,
    upper: `Multipart/Form-Data; charset=utf-8; BOUNDARY=${boundary}`,
    mismatch: `multipart/form-data; boundary=${boundary}x`,
    "no-boundary": "multipart/form-data",
    "wrong-type": `multipart/mixed; boundary=${boundary}`,
    "too-long": `multipart/form-data; boundary=${boundary}`,
  }[plan.ct];
  if (plan.ct !== "plain" && plan.ct !== "quoted" && plan.ct !== "upper") broken = true;

  // The parts as the server classifies them: a file is a part named "file" with a filename.
  const files = plan.parts.filter((p): p is FilePart => p.kind === "file" && p.name === "file");
  const timestamps = plan.parts.filter((p): p is TimestampPart => p.kind === "timestamp" && !p.withFilename);
  const signatures = plan.parts.filter((p): p is SignaturePart => p.kind === "signature" && !p.withFilename);
  const file = files.length === 1 ? files[0] : undefined;
  const filename = file && seenFilename(file);
  const fileBytes = file && raw[plan.parts.indexOf(file)]?.value;
  const built = { body, contentType, filename, fileBytes };
  if (unknown) return { ...built, expected: { status: "unknown" } };
  if (broken) return { ...built, expected: { status: 400 } };
  if (files.length > 1 || timestamps.length > 1 || signatures.length > 1)
    return { ...built, expected: { status: 400 } };

  // the contract's validation order: fields present, filename, timestamp, signature.
  const [ts] = timestamps;
  const [sig] = signatures;
  let field: string | undefined;
  if (!file) field = "file";
  else if (!ts) field = "timestamp";
  else if (!sig) field = "signature";
  else if (!acceptableFilename(filename as string)) field = "filename";
  else if (ts.ts === "stale" || ts.ts === "garbage") field = "timestamp";
  else if (sig.sig !== "valid" || ts !== firstTs) field = "signature";
  return { ...built, expected: field ? { status: 400, field } : { status: 200 } };
}

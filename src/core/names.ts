/**
 * Validation of the two kinds of names that reach storage: device MAC addresses
 * and asset filenames. Both end up as file names, so these checks are what keeps
 * every write inside its data directory.
 */
import { invalidOperation, validationFailed } from "./errors.js";

const MAC = /^[0-9a-f]{2}(-[0-9a-f]{2}){5}$/;

/** Lower-cases and checks a MAC from a path; the colon and bare forms stay invalid, as in the original. */
export function normaliseMac(raw: string): string {
  const mac = raw.toLowerCase();
  if (!MAC.test(mac)) {
    throw invalidOperation(
      "Invalid MAC address format: expected six hex pairs separated by dashes, e.g. aa-bb-cc-dd-ee-ff",
      { field: "mac_address" },
    );
  }
  return mac;
}

export const isMac = (value: string): boolean => MAC.test(value);

const CONFIG_FILE = /^([0-9a-f]{2}(?:-[0-9a-f]{2}){5})\.json$/;

/** The MAC of a stored config's file name (`<mac>.json`), or undefined for any other name. */
export const macOfConfigFile = (name: string): string | undefined => CONFIG_FILE.exec(name)?.[1];

/** Longest accepted asset name, in UTF-8 bytes: the NAME_MAX of common filesystems. */
export const MAX_FILENAME_BYTES = 255;

/**
 * Characters that make one name look like another or hide what it is: format characters
 * (category Cf: bidirectional overrides such as U+202E that turn `gpj.exe` into a name
 * displayed as `exe.jpg`, zero-width joiners and spaces), line and paragraph separators,
 * spaces other than the ASCII one (no-break, ideographic, …), private-use characters
 * and lone surrogates.
 */
const DECEPTIVE = /[\p{Cf}\p{Zl}\p{Zp}\p{Co}\p{Cs}]|(?! )\p{Zs}/u;

/** Names Windows reserves for devices, with or without an extension (`con`, `COM1.bin`, `nul.txt`). */
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\.|$)/i;

/**
 * Why a filename is refused, or undefined when it is acceptable. `name` is what the
 * client sent; the name stored and looked up is its NFC form (`normaliseFilename`), so
 * "é" typed on macOS (NFD) and on Linux (NFC) is one file.
 * Beyond the contract's list (`..`, `/`, `\`, NUL, control characters, format characters, Windows
 * device names) we refuse leading dots (hidden files, and the namespace of our own
 * temporary files and folders) and the `.tmp` suffix, so an upload can never collide with
 * or masquerade as an in-flight write, and a trailing dot, which Windows drops.
 */
export function filenameProblem(name: string): string | undefined {
  if (name.length === 0) return "must not be empty";
  if (name.includes("..")) return "must not contain '..'";
  if (name.includes("/") || name.includes("\\")) return "must not contain path separators";
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) return "must not contain control characters";
  if (name.includes("\ufffd")) return "must be valid UTF-8";
  if (DECEPTIVE.test(name)) return "must not contain invisible, bidirectional or look-alike space characters";
  if (name.startsWith(".")) return "must not start with '.'";
  if (name.endsWith(".")) return "must not end with '.'";
  if (name.toLowerCase().endsWith(".tmp")) return "must not end with '.tmp'";
  if (name.trim() !== name) return "must not start or end with whitespace";
  if (WINDOWS_DEVICE.test(name)) return "must not be a Windows device name (CON, PRN, AUX, NUL, COM1-9, LPT1-9)";
  const stored = normaliseFilename(name);
  if (new TextEncoder().encode(stored).length > MAX_FILENAME_BYTES)
    return `must be at most ${MAX_FILENAME_BYTES} bytes`;
  return undefined;
}

/** The form a name is stored and looked up under: Unicode NFC. */
export const normaliseFilename = (name: string): string => name.normalize("NFC");

/** Checks a name and returns its stored (NFC) form. */
export function checkFilename(name: string): string {
  const problem = filenameProblem(name);
  if (problem) throw validationFailed(`Invalid filename: ${problem}`, { field: "filename" });
  return normaliseFilename(name);
}

/** The usage text, printed by --help and after a usage error. */
import { MAX_RETRY_AFTER_SECONDS } from "./retry-after.js";

export const USAGE = `Usage: iot-upload <file> --server URL --key KEY.pem [options]

Signs <file> and uploads it to the IoT Support server (POST /api/assets),
streaming it with a progress bar on stderr.

Options:
  --server URL      the server's base URL, e.g. http://localhost:3201
                    (default: $IOT_SERVER_URL)
  --key KEY.pem     the RSA private key (PKCS#8 or PKCS#1 PEM) whose public key
                    the server verifies with (default: $IOT_SIGNING_KEY_PATH)
  --name NAME       the stored asset name (default: the file's base name)
  --v1              sign version 1 (the timestamp only), for servers that
                    predate signature version 2
  --timestamp ISO   sign this timestamp instead of the current time, to
                    reproduce a request; the server accepts each signature once
  --retries N       when the server is busy (503 SERVER_BUSY), wait as its
                    Retry-After says (at most ${MAX_RETRY_AFTER_SECONDS} s) and try again, up to N
                    times (default 0)
  -q, --quiet       print nothing but errors and warnings
  -h, --help        print this help
  --version         print the version

Exit status:
  0  uploaded
  1  the server refused the upload (the reason and its correlation id are printed)
  2  bad arguments, or the file or key cannot be used
  3  the server could not be reached, or the connection broke
`;

/** iot-device's usage text, printed by --help and after a usage error. */

export const DEVICE_USAGE = `Usage: iot-device token <mac> [options]    issue a device token (again: rotate it)
       iot-device revoke <mac> [options]   revoke every token of the device

Manages the per-device tokens of an IoT Support server (DEVICE_AUTH=device):
POST and DELETE /api/devices/<mac>/token. A new token is printed once, on stdout;
the server keeps only its hash. Issuing again starts a rotation: the device's
previous token keeps working until the device first uses the new one.

<mac> is six hex pairs separated by dashes, e.g. aa-bb-cc-dd-ee-ff (any case).

Options:
  --server URL              the server's base URL, e.g. http://localhost:3201
                            (default: $IOT_SERVER_URL)
  --admin-token-file PATH   read the admin token from this file (its first and
                            only line); otherwise from $IOT_ADMIN_TOKEN. Never
                            on the command line, where \`ps\` shows it to everyone.
                            Without either, the request carries no token.
  --json                    print the result as one JSON object on stdout:
                            token: {"mac_address", "token", "issued_at"}
                            revoke: {"mac_address", "revoked": true}
  -h, --help                print this help
  --version                 print the version

Exit status (on failure stdout is empty and stderr says why):
  0  done
  1  the server refused (the reason and its correlation id are printed)
  2  bad arguments, or the admin token (file) cannot be used
  3  the server could not be reached, or the connection broke
`;

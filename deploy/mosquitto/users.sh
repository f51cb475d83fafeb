#!/usr/bin/env bash
# Broker logins for an IoT Support fleet, in Mosquitto's password file (see README.md here).
#
#   users.sh device <mac>    add a device, or give it a new password; prints the password once
#   users.sh server          the same for the server's own login, `iotsupport`
#   users.sh remove <name>   remove a login (a device by its MAC)
#
# MOSQUITTO_PASSWD names the file (default /etc/mosquitto/passwd). Passwords are random
# (192 bits), given to mosquitto_passwd on its standard input, never on a command line that
# `ps` would show. Mosquitto reads the file again on `systemctl reload mosquitto`.
set -euo pipefail

PASSWD_FILE="${MOSQUITTO_PASSWD:-/etc/mosquitto/passwd}"

usage() {
  sed -n '4,6s/^# *//p' "$0" >&2
  exit 2
}

# The user name a device logs in with: its MAC as the server's topics write it (lower case,
# dashes), so the ACL's %u is exactly the MAC in iotsupport/updates/configs/<mac>.
device_name() {
  local mac
  mac=$(printf '%s' "$1" | tr 'A-F:' 'a-f-')
  if [[ ! "$mac" =~ ^[0-9a-f]{2}(-[0-9a-f]{2}){5}$ ]]; then
    echo "not a MAC address: '$1' (expected six hex pairs, e.g. a0-b1-c2-d3-e4-f5)" >&2
    exit 2
  fi
  printf '%s' "$mac"
}

# Mosquitto reads this file after dropping to its own user: readable by group mosquitto only.
ensure_file() {
  if [[ ! -e "$PASSWD_FILE" ]]; then
    (umask 027 && : >"$PASSWD_FILE")
    if [[ "$(id -u)" == 0 ]] && getent group mosquitto >/dev/null; then chgrp mosquitto "$PASSWD_FILE"; fi
  fi
}

set_password() {
  local name=$1 password
  ensure_file
  password=$(head -c 24 /dev/urandom | base64 | tr '+/' '-_')
  # mosquitto_passwd asks twice, on stdout; only its errors are worth showing.
  printf '%s\n%s\n' "$password" "$password" | mosquitto_passwd "$PASSWD_FILE" "$name" >/dev/null
  printf 'username: %s\npassword: %s\n' "$name" "$password"
  echo "saved in $PASSWD_FILE; the broker uses it after: systemctl reload mosquitto" >&2
}

case "${1:-}" in
device)
  [[ $# == 2 ]] || usage
  name=$(device_name "$2")
  set_password "$name"
  ;;
server)
  [[ $# == 1 ]] || usage
  set_password iotsupport
  ;;
remove)
  [[ $# == 2 ]] || usage
  if [[ "$2" == iotsupport ]]; then name=$2; else name=$(device_name "$2"); fi
  mosquitto_passwd -D "$PASSWD_FILE" "$name"
  echo "removed $name from $PASSWD_FILE; after systemctl reload mosquitto it is disconnected" >&2
  ;;
*)
  usage
  ;;
esac

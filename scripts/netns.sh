#!/bin/sh
# Run a command inside a private network namespace (see NETWORK.md).
#
#   scripts/netns.sh <cmd> [args...]
#
# The namespace has only: lo (up, 127.0.0.1) and a veth pair v0/v1 with
# 10.250.0.1/24 and 10.250.0.2/24. Nothing inside can reach the machine's
# external interfaces, so the official client (libwebrtc, which ignores
# loopback) gathers candidates on the test addresses only. The namespace and
# its links vanish when the command exits.
#
# If the namespace cannot be created (not root, no unshare/ip, kernel refuses)
# this script fails loudly with exit code 97: tests must never silently skip,
# nor fall back to the host network.
set -eu

die() {
  echo "" >&2
  echo "################################################################" >&2
  echo "## netns.sh: CANNOT CREATE THE TEST NETWORK NAMESPACE" >&2
  echo "## $*" >&2
  echo "## Tests that use the official client must run inside a private" >&2
  echo "## network namespace (NETWORK.md). Run as root on Linux with" >&2
  echo "## util-linux (unshare) and iproute2 (ip) installed." >&2
  echo "################################################################" >&2
  echo "" >&2
  exit 97
}

if [ "$#" -eq 0 ]; then
  echo "usage: $0 <cmd> [args...]" >&2
  exit 2
fi

if [ "${LKRTC_NETNS:-}" = "1" ] && [ -n "$(ip -o link show v0 2>/dev/null)" ]; then
  # Already inside a namespace made by this script: just run the command.
  exec "$@"
fi

[ "$(uname -s)" = "Linux" ] || die "not Linux ($(uname -s))"
[ "$(id -u)" = "0" ] || die "not root (uid $(id -u))"
command -v unshare >/dev/null 2>&1 || die "unshare not found (apt-get install util-linux)"
command -v ip >/dev/null 2>&1 || die "ip not found (apt-get install iproute2)"
unshare -n true 2>/dev/null || die "unshare -n failed (no CAP_SYS_ADMIN / user namespaces refused?)"

exec unshare -n sh -c '
  ip link set lo up &&
  ip link add v0 type veth peer name v1 &&
  ip addr add 10.250.0.1/24 dev v0 && ip addr add 10.250.0.2/24 dev v1 &&
  ip link set v0 up && ip link set v1 up || {
    echo "netns.sh: SETUP OF lo/veth INSIDE THE NAMESPACE FAILED" >&2
    exit 97
  }
  export LKRTC_NETNS=1
  exec "$@"' netns "$@"

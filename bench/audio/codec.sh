#!/bin/sh
# Opus encode+decode cost of lkrtc's codec against libopus (loaded at run time).
set -eu
cd "$(dirname "$0")/../.."
if ! ldconfig -p 2>/dev/null | grep -q libopus.so.0; then
  echo "installing libopus0 for the comparison (benchmark only; lkrtc does not use it)"
  apt-get install -y --no-install-recommends libopus0 >/dev/null
fi
exec cargo run --release -q -p lkrtc-engine --example codec_cost

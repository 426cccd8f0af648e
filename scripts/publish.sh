#!/bin/sh
# Release step (run by changesets/action in .github/workflows/release.yml once the
# "Version packages" pull request is merged): pack every package from the binaries the build
# jobs made (scripts/pack-all.mjs --no-build) and publish them, the platform packages first so
# that lkrtc's optionalDependencies resolve the moment it appears.
set -eu
cd "$(dirname "$0")/.."
out=target/packages
rm -rf "$out"
node scripts/pack-all.mjs --no-build --out "$out"
version=$(node -p "require('./package.json').version")
for tarball in "$out"/lkrtc-*-"$version".tgz; do
  npm publish "$tarball" --access public
done
npm publish "$out/lkrtc-$version.tgz" --access public
# changesets/action makes the GitHub release and tag from this line.
echo "New tag: lkrtc@$version"

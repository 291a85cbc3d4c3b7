#!/usr/bin/env bash
# pg.sh start DIR | stop DIR | url DIR
#
# A throwaway PostgreSQL server for the tests, from Debian's packages
# (postgresql-NN: /usr/lib/postgresql/NN/bin): a new cluster in DIR/data,
# listening on 127.0.0.1 only, on a free port, its socket in DIR (never the
# system's /var/run/postgresql), trust authentication for the user crmflow,
# durability off (fsync=off: a test server that dies is thrown away anyway;
# PG_DURABLE=1 keeps PostgreSQL's durable defaults, for the benchmarks).
#
#   start DIR  creates DIR if needed (it must hold no cluster yet), starts the
#              server, creates the database crmflow_test and prints its URL,
#              postgres://crmflow@127.0.0.1:PORT/crmflow_test (also kept in
#              DIR/url). Exit status 1 with the reason on stderr when it cannot.
#   stop DIR   stops the server (fast shutdown) and removes DIR.
#   url DIR    prints the URL of a running server.
#
# initdb and postgres refuse to run as root. Run as root, the server runs as
# an unprivileged user: PG_RUN_USER if set, else postgres (which Debian's
# postgresql package creates), else nobody; DIR is handed to that user. Run
# as anyone else, it runs as the caller.
set -euo pipefail

die() {
  echo "pg.sh: $*" >&2
  exit 1
}

[ $# -eq 2 ] || die "usage: pg.sh start|stop|url DIR"
cmd=$1
dir=$2

# The newest installed major version's binaries; else whatever is on PATH.
bindir=""
for d in /usr/lib/postgresql/*/bin; do
  [ -x "$d/initdb" ] || continue
  if [ -z "$bindir" ] || [ "$(basename "$(dirname "$d")")" -gt "$(basename "$(dirname "$bindir")")" ]; then
    bindir=$d
  fi
done
if [ -z "$bindir" ] && command -v initdb >/dev/null 2>&1; then
  bindir=$(dirname "$(command -v initdb)")
fi

run_user=""
if [ "$(id -u)" -eq 0 ]; then
  for u in ${PG_RUN_USER:-} postgres nobody; do
    if id -u "$u" >/dev/null 2>&1; then
      run_user=$u
      break
    fi
  done
  [ -n "$run_user" ] || die "running as root, and no unprivileged user (postgres, nobody) to run the server as"
fi

# as_server CMD...: runs CMD as the server's user, from DIR (the caller's folder may be closed to it).
as_server() {
  if [ -n "$run_user" ]; then
    (cd "$dir" && runuser -u "$run_user" -- "$@")
  else
    (cd "$dir" && "$@")
  fi
}

case $cmd in
start)
  [ -n "$bindir" ] || die "no PostgreSQL server found (install Debian's postgresql package: scripts/deps.sh does)"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  [ ! -e "$dir/data" ] || die "$dir/data exists: a server was started there already (pg.sh stop $dir first)"
  # A socket path is limited to about 107 bytes.
  [ ${#dir} -lt 80 ] || die "$dir is too long a path for the server's socket (under 80 characters, please)"
  [ -z "$run_user" ] || chown "$run_user" "$dir"
  chmod 0700 "$dir"
  if ! as_server "$bindir/initdb" -D "$dir/data" -U crmflow --auth=trust -E UTF8 --no-locale --no-sync \
      >"$dir/initdb.log" 2>&1; then
    die "initdb failed (as ${run_user:-$(id -un)}): $(tail -n 5 "$dir/initdb.log")"
  fi
  # Durability off for the tests; PG_DURABLE=1 (the benchmarks, bench/pg/run.sh) keeps the defaults.
  durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  [ "${PG_DURABLE:-}" != 1 ] || durability=""
  # A free port: a few random tries, each checked by connecting first and then by starting.
  started=""
  for _ in 1 2 3 4 5 6 7 8; do
    port=$((20000 + RANDOM % 40000))
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then continue; fi
    if as_server "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir $durability" \
        start >"$dir/pg_ctl.log" 2>&1; then
      started=$port
      break
    fi
    # Port taken between the check and the start: try another; anything else is fatal.
    grep -q -i "could not bind\|address already in use" "$dir/server.log" 2>/dev/null ||
      die "the server did not start: $(tail -n 5 "$dir/server.log" 2>/dev/null || cat "$dir/pg_ctl.log")"
  done
  [ -n "$started" ] || die "no free port found on 127.0.0.1"
  if ! "$bindir/createdb" -h 127.0.0.1 -p "$started" -U crmflow crmflow_test >"$dir/createdb.log" 2>&1; then
    as_server "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    die "createdb failed: $(cat "$dir/createdb.log")"
  fi
  url="postgres://crmflow@127.0.0.1:$started/crmflow_test"
  echo "$url" >"$dir/url"
  echo "$url"
  ;;
stop)
  [ -d "$dir" ] || exit 0
  dir=$(cd "$dir" && pwd)
  if [ -d "$dir/data" ] && [ -n "$bindir" ]; then
    as_server "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null 2>&1 ||
      as_server "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
  ;;
url)
  cat "$dir/url"
  ;;
*)
  die "usage: pg.sh start|stop|url DIR"
  ;;
esac

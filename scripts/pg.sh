#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests (issue 21), from Debian's packages:
#   bash scripts/pg.sh start DIR   initdb in DIR, start the server on a free loopback port (and
#                                  a socket in DIR), print its connection URL
#   bash scripts/pg.sh start-tls DIR CERT KEY
#                                  the same over TLS only (the server's PEM certificate and
#                                  key; a client in the clear is refused), URL on localhost
#   bash scripts/pg.sh stop DIR    stop it and remove DIR
#   bash scripts/pg.sh crash DIR   stop it at once, as a server crash would (-m immediate: no
#                                  checkpoint, recovery from the WAL on the next start)
#   bash scripts/pg.sh resume DIR  start it again on its port
#   bash scripts/pg.sh socket DIR  print the connection string for its Unix socket (faster
#                                  than loopback TCP: the benchmark uses it)
# As root, the server runs as the `postgres` user (initdb refuses root).
set -euo pipefail
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  echo "pg.sh: no PostgreSQL server (scripts/setup.sh installs Debian's postgresql)" >&2
  exit 1
fi
cmd="$1"
dir="$2"
as_server() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case "$cmd" in
  start | start-tls)
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then chown postgres "$dir"; fi
    as_server "$bin/initdb" -D "$dir/data" -U kmid --auth=trust -E UTF8 --no-instructions >/dev/null
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    echo "$port" > "$dir/port"
    options="-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=200"
    if [ "$cmd" = start-tls ]; then
      # TLS only on TCP: the server's certificate and key (PEM) given as $3 and $4; a client
      # in the clear is refused (hostnossl … reject). The Unix socket stays as it is.
      install -m 600 "$3" "$dir/data/server.crt"
      install -m 600 "$4" "$dir/data/server.key"
      if [ "$(id -u)" -eq 0 ]; then chown postgres "$dir/data/server.crt" "$dir/data/server.key"; fi
      sed -i -E 's/^host[[:space:]]+(all[[:space:]]+all[[:space:]]+127\.0\.0\.1\/32[[:space:]]+trust)/hostssl \1\nhostnossl all all 127.0.0.1\/32 reject/' "$dir/data/pg_hba.conf"
      options="$options -c ssl=on"
    fi
    echo "$options" > "$dir/options"
    as_server "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o "$options" start >/dev/null
    if [ "$cmd" = start-tls ]; then
      echo "postgres://kmid@localhost:$port/postgres"
    else
      echo "postgres://kmid@127.0.0.1:$port/postgres"
    fi
    ;;
  crash)
    as_server "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null
    ;;
  socket)
    echo "host=$dir port=$(cat "$dir/port") user=kmid dbname=postgres"
    ;;
  resume)
    as_server "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o "$(cat "$dir/options")" start >/dev/null
    ;;
  stop)
    if [ -d "$dir/data" ]; then
      as_server "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
  *)
    echo "usage: pg.sh start|start-tls|stop|crash|resume|socket DIR [CERT KEY]" >&2
    exit 2
    ;;
esac

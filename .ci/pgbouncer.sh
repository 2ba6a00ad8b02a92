#!/usr/bin/env bash
# PgBouncer in transaction pooling mode in front of the local PostgreSQL, for the tests
# of the lock strategies behind a pooler (tests/lock_table.rs, TEST_PGBOUNCER_URL).
#
# Idempotent: installs PgBouncer if it is missing (Debian's package), writes its
# configuration under /tmp/cm-pgbouncer/, (re)starts it as the `postgres` user
# (PgBouncer refuses to run as root) when it is not running or its configuration
# changed, and waits until a query goes through it. Then:
#
#   TEST_PGBOUNCER_URL=postgres://postgres@127.0.0.1:6432/<database>
#
# Any database name maps to the same name on 127.0.0.1:5432 (trust authentication,
# DESIGN.md §8). `psql -h 127.0.0.1 -p 6432 -U postgres pgbouncer -c 'SHOW POOLS'`
# opens its admin console.
set -euo pipefail

DIR=/tmp/cm-pgbouncer
PORT=6432
CONF="$DIR/pgbouncer.ini"
PIDFILE="$DIR/pgbouncer.pid"
RUN_AS=postgres

if ! command -v pgbouncer >/dev/null 2>&1 && [ ! -x /usr/sbin/pgbouncer ]; then
  echo "installing PgBouncer"
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  # policy-rc.d keeps containers from starting the packaged service; where it does
  # start, it listens on 6432 too, so stop it.
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq pgbouncer >/dev/null
  $SUDO service pgbouncer stop >/dev/null 2>&1 || true
fi
PGBOUNCER=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)

mkdir -p "$DIR"
if [ "$(id -u)" -eq 0 ]; then chown "$RUN_AS" "$DIR"; fi

# The startup parameters PgBouncer does not track itself and would refuse the client
# for ("unsupported startup parameter"): sqlx sends DateStyle, client_encoding and
# TimeZone (tracked), extra_float_digits always, application_name when PGAPPNAME is set
# (tracked) and `options` when the URL sets it (ignored here: its `-c search_path=..`
# is then silently dropped, as it would be behind a production pooler).
cat >"$DIR/pgbouncer.ini.new" <<EOF
[databases]
* = host=127.0.0.1 port=5432

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PORT
unix_socket_dir =
pool_mode = transaction
auth_type = trust
auth_file = $DIR/userlist.txt
admin_users = postgres
stats_users = postgres
max_client_conn = 200
default_pool_size = 4
ignore_startup_parameters = extra_float_digits,options,search_path
logfile = $DIR/pgbouncer.log
pidfile = $PIDFILE
EOF
printf '"postgres" ""\n' >"$DIR/userlist.txt"

running() {
  [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null
}

if running && cmp -s "$DIR/pgbouncer.ini.new" "$CONF"; then
  rm -f "$DIR/pgbouncer.ini.new"
else
  if running; then
    echo "restarting PgBouncer (configuration changed)"
    pid=$(cat "$PIDFILE")
    kill "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  mv "$DIR/pgbouncer.ini.new" "$CONF"
  if [ "$(id -u)" -eq 0 ]; then
    chown "$RUN_AS" "$CONF" "$DIR/userlist.txt"
    "$PGBOUNCER" -d -u "$RUN_AS" "$CONF"
  else
    "$PGBOUNCER" -d "$CONF"
  fi
fi

for _ in $(seq 1 60); do
  if psql -h 127.0.0.1 -p "$PORT" -U postgres -d test -tAc 'select 1' >/dev/null 2>&1; then
    echo "PgBouncer is up (127.0.0.1:$PORT, transaction pooling)"
    exit 0
  fi
  sleep 0.5
done
echo "PgBouncer did not start; see $DIR/pgbouncer.log" >&2
tail -n 20 "$DIR/pgbouncer.log" >&2 || true
exit 1

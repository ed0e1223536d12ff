#!/usr/bin/env bash
# Ensures the services the integration tests need are up on this machine:
#   PostgreSQL 127.0.0.1:5432 (trust auth, user postgres, database `test`)
#   Redis      127.0.0.1:6379
#   NATS       127.0.0.1:4222 with JetStream
# Each one is probed first; a running service is left alone. A missing one is
# installed with apt-get (as root) and started. Idempotent; < 1 s when all up.
# The PG_*/REDIS_PORT/NATS_PORT variables exist only so the start paths can be
# exercised on spare ports; CI uses the defaults.
set -euo pipefail

PG_PORT="${PG_PORT:-5432}"
PG_CLUSTER="${PG_CLUSTER:-main}"
PG_MIN_CONNECTIONS=200
REDIS_PORT="${REDIS_PORT:-6379}"
NATS_PORT="${NATS_PORT:-4222}"
WAIT_SECONDS=30

say() { printf 'services: %s\n' "$*"; }
warn() { printf 'services: WARNING: %s\n' "$*" >&2; }
die() { printf 'services: ERROR: %s\n' "$*" >&2; exit 1; }

APT_UPDATED=0
apt_install() {
  [[ $(id -u) -eq 0 ]] || die "need root to install $* (apt-get)"
  if [[ $APT_UPDATED -eq 0 ]]; then
    say "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    APT_UPDATED=1
  fi
  say "apt-get install -y $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# wait_for NAME PROBE_FN DETAIL: polls PROBE_FN for up to WAIT_SECONDS.
wait_for() {
  local name=$1 probe=$2 detail=$3 i
  for ((i = 0; i < WAIT_SECONDS * 4; i++)); do
    if "$probe"; then say "$name is up"; return 0; fi
    sleep 0.25
  done
  die "$name did not answer within ${WAIT_SECONDS}s ($detail)"
}

tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ---------------------------------------------------------------- PostgreSQL
pg_up() {
  if command -v pg_isready >/dev/null; then
    pg_isready -q -h 127.0.0.1 -p "$PG_PORT"
  else
    tcp_open "$PG_PORT"
  fi
}
pg_sql() { psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -tAc "$2" "$1"; }

# Idempotent; only called while the cluster is down or unreachable.
pg_configure() {
  local dir=$1 hba="$1/pg_hba.conf" marker='# tollgate-ci: trust local connections'
  mkdir -p "$dir/conf.d"
  printf "listen_addresses = '127.0.0.1'\nmax_connections = %d\n" "$PG_MIN_CONNECTIONS" >"$dir/conf.d/95-tollgate-ci.conf"
  if ! grep -qxF "$marker" "$hba"; then
    # First matching line wins in pg_hba.conf, so prepend.
    { printf '%s\nlocal all all trust\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n\n' "$marker"
      cat "$hba"; } >"$hba.tmp"
    chown --reference="$hba" "$hba.tmp"
    chmod --reference="$hba" "$hba.tmp"
    mv "$hba.tmp" "$hba"
  fi
}

ensure_postgres() {
  if ! pg_up; then
    say "PostgreSQL is down on 127.0.0.1:$PG_PORT; starting it"
    command -v pg_ctlcluster >/dev/null || apt_install postgresql
    if [[ -z $(ls /etc/postgresql 2>/dev/null) ]]; then
      pg_createcluster "$(ls /usr/lib/postgresql | sort -V | tail -1)" "$PG_CLUSTER"
    fi
    local ver
    ver=$(ls /etc/postgresql | head -1)
    [[ -d /etc/postgresql/$ver/$PG_CLUSTER ]] || die "PostgreSQL cluster $ver/$PG_CLUSTER does not exist"
    pg_configure "/etc/postgresql/$ver/$PG_CLUSTER"
    install -d -m 2775 -o postgres -g postgres /var/run/postgresql
    if pg_ctlcluster --skip-systemctl-redirect "$ver" "$PG_CLUSTER" status >/dev/null 2>&1; then
      # Running but not reachable on 127.0.0.1 (e.g. started by the package
      # before we configured it): a reload would not apply listen_addresses.
      pg_ctlcluster --skip-systemctl-redirect "$ver" "$PG_CLUSTER" restart
    else
      pg_ctlcluster --skip-systemctl-redirect "$ver" "$PG_CLUSTER" start
    fi
    wait_for PostgreSQL pg_up "127.0.0.1:$PG_PORT, see /var/log/postgresql/"
  else
    say "PostgreSQL is up on 127.0.0.1:$PG_PORT"
  fi

  if [[ $(pg_sql postgres "select 1 from pg_database where datname = 'test'") != 1 ]]; then
    say "creating database test"
    createdb -U postgres -h 127.0.0.1 -p "$PG_PORT" test 2>/dev/null || true
  fi
  local max
  max=$(pg_sql test 'show max_connections') || die "PostgreSQL: cannot connect as postgres to database test on 127.0.0.1:$PG_PORT (trust auth?)"
  if ((max < PG_MIN_CONNECTIONS)); then
    warn "PostgreSQL max_connections=$max (< $PG_MIN_CONNECTIONS); parallel tests may hit 'too many clients'." \
      "Not restarting a running cluster; to raise it: psql -h 127.0.0.1 -U postgres -c 'alter system set max_connections = $PG_MIN_CONNECTIONS' and restart the cluster."
  fi
}

# --------------------------------------------------------------------- Redis
redis_up() {
  if command -v redis-cli >/dev/null; then
    [[ $(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]
  else
    tcp_open "$REDIS_PORT"
  fi
}

ensure_redis() {
  if redis_up; then say "Redis is up on 127.0.0.1:$REDIS_PORT"; return; fi
  say "Redis is down on 127.0.0.1:$REDIS_PORT; starting it"
  command -v redis-server >/dev/null || apt_install redis-server
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_for Redis redis_up "127.0.0.1:$REDIS_PORT, see /var/log/redis/ci.log"
}

# ---------------------------------------------------------------------- NATS
nats_up() { tcp_open "$NATS_PORT"; }

nats_check_jetstream() {
  local info
  info=$( (exec 3<>"/dev/tcp/127.0.0.1/$NATS_PORT" && read -t 2 -r line <&3 && printf '%s' "$line") 2>/dev/null) || true
  [[ $info == *'"jetstream":true'* ]] || warn "NATS on 127.0.0.1:$NATS_PORT does not report JetStream enabled (start it with -js)"
}

ensure_nats() {
  if nats_up; then
    say "NATS is up on 127.0.0.1:$NATS_PORT"
  else
    say "NATS is down on 127.0.0.1:$NATS_PORT; starting it"
    command -v nats-server >/dev/null || [[ -x /usr/sbin/nats-server ]] || apt_install nats-server
    local bin
    bin=$(command -v nats-server || echo /usr/sbin/nats-server)
    mkdir -p /var/lib/nats-server
    # The pidfile scopes "already running" (--oknodo) to this port's server.
    start-stop-daemon --start --oknodo --background --exec "$bin" \
      --pidfile "/run/nats-server-$NATS_PORT.pid" --make-pidfile -- \
      -a 127.0.0.1 -p "$NATS_PORT" -js -sd /var/lib/nats-server -l /var/log/nats-server.log
    wait_for NATS nats_up "127.0.0.1:$NATS_PORT, see /var/log/nats-server.log"
  fi
  nats_check_jetstream
}

ensure_postgres
ensure_redis
ensure_nats

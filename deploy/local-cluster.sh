#!/usr/bin/env bash
# Starts a cluster-mode OrleansServe on one machine, everything on loopback: a Redis server, N silos and an ApiHost
# in client mode. `deploy/local-cluster.sh stop` stops what the last start started (by its pid files).
# Usage: deploy/local-cluster.sh [start|stop|status] [options]; deploy/local-cluster.sh --help
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

command=start
silos=2
redis_port=""
redis_address=""
api_port=8000
run_dir="$repo_root/deploy/.run"
model_repository=""
persist=false
build=true
timeout_s=120

usage() {
  cat <<'EOF'
deploy/local-cluster.sh [start|stop|status] [options]

  start (default)       build (Release) once, then start Redis, N silos and an ApiHost in client mode on 127.0.0.1
  stop                  stop every process the last start recorded in the run folder
  status                show which recorded processes are running

options
  --silos N             silos to start (default 2); silo i gets SiloPort 11110+i, GatewayPort 29999+i and its
                        dashboard on http://127.0.0.1:(8080+i)/dashboard
  --redis-port P        start redis-server on this loopback port (default: the first free one from 6390)
  --redis HOST:PORT     use a Redis that is already running instead of starting one
  --persist             let the started Redis save to the run folder (default: no RDB, no AOF)
  --api-port P          ApiHost port (default 8000)
  --model-repository D  repository every silo serves (default: <run folder>/model-repository, sample zoo written once)
  --run-dir D           logs, pid files and Redis data (default: deploy/.run)
  --timeout S           seconds to wait for each process to come up (default 120)
  --no-build            use the existing Release build

Environment variables reach every process, e.g. Api__ApiKey=... to protect /v2/admin/* and /v2/repository/*.
EOF
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    start|stop|status) command=$1 ;;
    --silos) silos=$2; shift ;;
    --redis-port) redis_port=$2; shift ;;
    --redis) redis_address=$2; shift ;;
    --persist) persist=true ;;
    --api-port) api_port=$2; shift ;;
    --model-repository) model_repository=$2; shift ;;
    --run-dir) run_dir=$2; shift ;;
    --timeout) timeout_s=$2; shift ;;
    --no-build) build=false ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

mkdir -p "$run_dir"
run_dir=$(cd "$run_dir" && pwd)
pid_dir="$run_dir/pids"
log_dir="$run_dir/logs"
model_repository=${model_repository:-$run_dir/model-repository}

log() { printf '[local-cluster] %s\n' "$*"; }

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A pid file names a process of ours only while that process still runs the command we started (pids get reused).
recorded_pid() {
  local file=$1 pid marker
  [[ -f $file ]] || return 1
  read -r pid marker < "$file" || return 1
  [[ -n $pid && -r /proc/$pid/cmdline ]] || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" | grep -qF -- "$marker" || return 1
  echo "$pid"
}

stop_all() {
  [[ -d $pid_dir ]] || { log "nothing recorded in $pid_dir"; return 0; }
  # The front end first, then the silos (last started first), Redis last so silos can leave the membership table.
  local files=() file pid name
  [[ -f $pid_dir/api.pid ]] && files+=("$pid_dir/api.pid")
  while IFS= read -r file; do files+=("$file"); done < <(ls "$pid_dir"/silo-*.pid 2>/dev/null | sort -t- -k2 -n -r)
  [[ -f $pid_dir/redis.pid ]] && files+=("$pid_dir/redis.pid")
  for file in "${files[@]}"; do
    name=$(basename "$file" .pid)
    if pid=$(recorded_pid "$file"); then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 60); do [[ -e /proc/$pid ]] || break; sleep 0.25; done
      if [[ -e /proc/$pid ]]; then
        log "$name ($pid) ignored SIGTERM for 15 s; killing it"
        kill -KILL "$pid" 2>/dev/null || true
      fi
      log "stopped $name ($pid)"
    fi
    rm -f "$file"
  done
}

show_status() {
  local file pid any=false
  for file in "$pid_dir"/*.pid; do
    [[ -f $file ]] || continue
    any=true
    if pid=$(recorded_pid "$file"); then
      log "$(basename "$file" .pid): running ($pid)"
    else
      log "$(basename "$file" .pid): not running"
    fi
  done
  $any || log "nothing recorded in $pid_dir"
}

# Starts a command in the background with its own log; the pid file keeps the pid and a marker to recognise it by.
launch() {
  local name=$1 workdir=$2 marker=$3; shift 3
  (cd "$workdir" && exec nohup "$@" > "$log_dir/$name.log" 2>&1 < /dev/null) &
  echo "$! $marker" > "$pid_dir/$name.pid"
}

fail_start() {
  log "$1"
  [[ -n ${2:-} && -f $2 ]] && { log "last lines of $2:"; tail -n 30 "$2" | sed 's/^/    /'; }
  log "stopping what was started"
  stop_all
  exit 1
}

# Waits until a check passes, failing early when the process it is about has exited.
wait_for() {
  local name=$1 what=$2; shift 2
  local deadline=$((SECONDS + timeout_s))
  until "$@"; do
    recorded_pid "$pid_dir/$name.pid" > /dev/null || fail_start "$name exited before $what" "$log_dir/$name.log"
    ((SECONDS < deadline)) || fail_start "$name: no $what within $timeout_s s" "$log_dir/$name.log"
    sleep 0.5
  done
}

http_ok() { [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1") == 200 ]]; }
redis_ping() { [[ $(redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null) == PONG ]]; }

start_all() {
  [[ $silos =~ ^[1-9][0-9]*$ ]] || { echo "--silos must be a positive number" >&2; exit 2; }
  local file
  for file in "$pid_dir"/*.pid; do
    if [[ -f $file ]] && recorded_pid "$file" > /dev/null; then
      echo "a local cluster recorded in $run_dir is still running; run '$0 stop' first" >&2
      exit 1
    fi
  done
  rm -rf "$pid_dir"
  mkdir -p "$pid_dir" "$log_dir" "$model_repository"

  local i ports=("$api_port")
  for ((i = 1; i <= silos; i++)); do ports+=($((11110 + i)) $((29999 + i)) $((8080 + i))); done
  for i in "${ports[@]}"; do
    port_in_use "$i" && { echo "port $i on 127.0.0.1 is in use; stop what holds it or pick other ports" >&2; exit 1; }
  done

  if $build; then
    log "building Release"
    dotnet build -c Release "$repo_root/Silo/Silo.csproj" -v quiet -nologo > "$log_dir/build.log" 2>&1 \
      && dotnet build -c Release "$repo_root/ApiHost/ApiHost.csproj" -v quiet -nologo >> "$log_dir/build.log" 2>&1 \
      || { tail -n 30 "$log_dir/build.log" >&2; exit 1; }
  fi
  local silo_bin="$repo_root/Silo/bin/Release/net10.0" api_bin="$repo_root/ApiHost/bin/Release/net10.0"
  [[ -f $silo_bin/OrleansServe.Silo.dll && -f $api_bin/OrleansServe.ApiHost.dll ]] \
    || { echo "no Release build in $silo_bin and $api_bin; run without --no-build" >&2; exit 1; }

  if [[ -z $redis_address ]]; then
    command -v redis-server > /dev/null || { echo "redis-server is not installed; install it or pass --redis HOST:PORT" >&2; exit 1; }
    if [[ -z $redis_port ]]; then
      redis_port=6390
      while port_in_use "$redis_port"; do redis_port=$((redis_port + 1)); done
    elif port_in_use "$redis_port"; then
      echo "port $redis_port on 127.0.0.1 is in use; pass --redis 127.0.0.1:$redis_port to use that Redis" >&2
      exit 1
    fi
    mkdir -p "$run_dir/redis"
    local persistence=(--save '' --appendonly no)
    $persist && persistence=(--save '60 1' --appendonly yes)
    launch redis "$run_dir/redis" "redis-server" redis-server --bind 127.0.0.1 --port "$redis_port" \
      --protected-mode yes --dir "$run_dir/redis" "${persistence[@]}"
    wait_for redis "PONG" redis_ping
    redis_address="127.0.0.1:$redis_port"
    log "redis on $redis_address (persistence: $persist)"
  fi

  local cluster=(--Cluster:Provider redis --Cluster:Redis "$redis_address")
  # One silo at a time: the first writes the sample zoo into an empty repository before the next one reads it.
  for ((i = 1; i <= silos; i++)); do
    launch "silo-$i" "$silo_bin" "OrleansServe.Silo.dll" dotnet OrleansServe.Silo.dll "${cluster[@]}" \
      --Cluster:AdvertisedAddress 127.0.0.1 --Cluster:SiloPort $((11110 + i)) --Cluster:GatewayPort $((29999 + i)) \
      --urls "http://127.0.0.1:$((8080 + i))" --model-repository "$model_repository"
    wait_for "silo-$i" "dashboard" http_ok "http://127.0.0.1:$((8080 + i))/dashboard/"
    log "silo-$i up (silo port $((11110 + i)), gateway $((29999 + i)))"
  done

  launch api "$api_bin" "OrleansServe.ApiHost.dll" dotnet OrleansServe.ApiHost.dll --mode client "${cluster[@]}" \
    --urls "http://127.0.0.1:$api_port"
  wait_for api "readiness" http_ok "http://127.0.0.1:$api_port/v2/health/ready"

  log "ready: $silos silo(s), Redis $redis_address, logs and pids in $run_dir"
  echo "  API        http://127.0.0.1:$api_port  (try: curl -s http://127.0.0.1:$api_port/v2/admin/devices)"
  echo "  dashboard  http://127.0.0.1:$api_port/dashboard"
  for ((i = 1; i <= silos; i++)); do echo "  silo-$i     http://127.0.0.1:$((8080 + i))/dashboard"; done
  echo "  stop with  $0 stop$([[ $run_dir != "$repo_root/deploy/.run" ]] && echo " --run-dir $run_dir")"
}

case "$command" in
  start) start_all ;;
  stop) stop_all ;;
  status) show_status ;;
esac

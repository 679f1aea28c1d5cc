# Shared by the cluster benchmarks (failover.sh, overload.sh); sourced once `root` names the repository root.
# Builds the hosts (Release), makes a work folder that goes with every process started into `pids` at exit, and
# gives the helpers both scripts start their processes with.

cli=("dotnet" "$root/Cli/bin/Release/net10.0/OrleansServe.Cli.dll")

echo "Building (Release)..."
for project in Silo ApiHost Cli; do
    dotnet build "$root/$project" -c Release -nologo -v quiet
done

work="$(mktemp -d)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

# Waits until a process's log has the line; stops the benchmark with the log's tail if the process dies or 120 s pass.
wait_for_line() { # file, text, name, pid
    local deadline=$((SECONDS + 120))
    until grep -q "$2" "$1"; do
        if ! kill -0 "$4" 2>/dev/null || ((SECONDS >= deadline)); then
            echo "$3 did not start:" >&2
            tail -n 40 "$1" >&2
            exit 1
        fi
        sleep 0.5
    done
}

# Starts redis-server on a loopback port, without persistence; its pid is left in redis_pid.
start_redis() { # port
    redis-server --port "$1" --bind 127.0.0.1 --save "" --appendonly no >"$work/redis.log" 2>&1 &
    redis_pid=$!
    pids+=("$redis_pid")
    wait_for_line "$work/redis.log" "Ready to accept connections" redis-server "$redis_pid"
}

# Writes one sample-zoo model into a fresh repository in the work folder, named by `repository`.
write_zoo_model() { # model
    repository="$work/model-repository"
    "${cli[@]}" zoo --out "$repository" --models "$1" >/dev/null
}

#!/usr/bin/env bash
# es.sh — run the real Elasticsearch 8.x server that siemscore's integration tests talk to.
#
#   es.sh start     build on first use, start on 127.0.0.1, wait for yellow, print the URL
#   es.sh stop      SIGTERM the server and wait for it to exit (data is kept)
#   es.sh restart   stop + start on the same port and data directory (outage tests)
#   es.sh status    say whether it runs (exit 0) or not (exit 3)
#   es.sh url       print the URL of the running server
#   es.sh clean     stop and delete all data
#
# Environment:
#   ES_URL          use this existing cluster instead: start/stop/restart/clean do nothing
#   ES_PORT         HTTP port for start (default: the previous port if free, else a free one)
#   ES_HEAP         JVM heap, default 512m
#   ES_JAVA_HOME    JDK to run with (default: JAVA_HOME, else the `java` on PATH)
#   ES_FULL_JIT=1   use the C2 JIT too (slower start, full speed; for benchmarks)
#   ES_START_TIMEOUT seconds to wait for the cluster to turn yellow, default 120
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RUN=$HERE/run
ES_VERSION=$(sed -n 's:.*<es.version>\(.*\)</es.version>.*:\1:p' "$HERE/pom.xml")
ES_HOME=$HERE/target/elasticsearch-$ES_VERSION
CLUSTER=siemscore-test
# Elasticsearch refuses to run as root, and test machines often are root:
# the server then runs as nobody, which also owns run/.
UNPRIVILEGED_UID=65534

die() {
	echo "es.sh: $*" >&2
	exit 1
}

need() {
	command -v "$1" >/dev/null 2>&1 || die "$1 is required but not installed ($2)"
}

java_home() {
	local home=${ES_JAVA_HOME:-${JAVA_HOME:-}}
	if [[ -z $home ]]; then
		need java "Debian: apt-get install openjdk-17-jdk-headless, or set ES_JAVA_HOME"
		home=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
	fi
	[[ -x $home/bin/java ]] || die "no java at $home/bin/java (set ES_JAVA_HOME to a JDK 17+)"
	echo "$home"
}

build() {
	[[ -x $ES_HOME/bin/elasticsearch ]] && return
	need mvn "Debian: apt-get install maven"
	echo "es.sh: first use: fetching Elasticsearch $ES_VERSION from Maven Central (~110 MB)..." >&2
	mkdir -p "$RUN"
	if ! mvn -B -f "$HERE/pom.xml" package >"$RUN/maven.log" 2>&1; then
		tail -n 30 "$RUN/maven.log" >&2
		die "Maven could not fetch Elasticsearch $ES_VERSION (full log: $RUN/maven.log)"
	fi
	[[ -x $ES_HOME/bin/elasticsearch ]] || die "Maven finished but $ES_HOME/bin/elasticsearch is missing"
}

server_pid() {
	local pid
	[[ -s $RUN/pid ]] || return 1
	pid=$(<"$RUN/pid")
	# A stale pid file may name an unrelated process after a crash or reboot.
	grep -qF -- "-Des.path.home=$ES_HOME" "/proc/$pid/cmdline" 2>/dev/null || return 1
	echo "$pid"
}

port_in_use() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

free_port() {
	local port
	for _ in $(seq 1 100); do
		port=$((20000 + RANDOM % 30000))
		port_in_use "$port" || {
			echo "$port"
			return
		}
	done
	die "found no free TCP port on 127.0.0.1"
}

# Python's urllib rather than curl: CI machines have the toolchains (Python among them), and
# curl is not one. An HTTP error (408 when the wait times out) or no answer is unhealthy.
healthy() { # url timeout-seconds
	python3 -c '
import sys, urllib.request
url, wait = sys.argv[1], int(sys.argv[2])
try:
    urllib.request.urlopen(f"{url}/_cluster/health?wait_for_status=yellow&timeout={wait}s", timeout=wait + 5).close()
except Exception:
    sys.exit(1)
' "$1" "$2"
}

show_failure() {
	local log
	echo "es.sh: Elasticsearch failed to start." >&2
	for log in "$RUN/launcher.log" "$RUN/logs/$CLUSTER.log"; do
		[[ -s $log ]] || continue
		# The cause is in the ERROR/FATAL lines; the tail is mostly shutdown noise.
		echo "es.sh: errors in $log:" >&2
		grep -E '^\[[^]]*\]\[(ERROR|FATAL)|^ERROR:|^Caused by:' "$log" | cut -c1-400 | head -n 15 >&2 || true
		echo "es.sh: last lines of $log:" >&2
		tail -n 10 "$log" | cut -c1-400 >&2
	done
}

write_config() { # port
	rm -rf "$RUN/config/jvm.options.d"
	mkdir -p "$RUN/config" "$RUN/data" "$RUN/logs" "$RUN/tmp"
	cp -R "$ES_HOME/config/." "$RUN/config/"
	cat >"$RUN/config/elasticsearch.yml" <<EOF
# Written by es.sh on every start: change es.sh, not this file.
cluster.name: $CLUSTER
node.name: $CLUSTER
path.data: $RUN/data
path.logs: $RUN/logs
network.host: 127.0.0.1
http.port: $1
discovery.type: single-node
# Tests speak plain HTTP without credentials, like most Fluent Bit test setups.
xpack.security.enabled: false
# Developer disks are often nearly full; watermarks would make indices read-only mid-test.
cluster.routing.allocation.disk.threshold_enabled: false
EOF
	{
		printf -- '-Xms%s\n-Xmx%s\n' "${ES_HEAP:-512m}" "${ES_HEAP:-512m}"
		# C1 only: on a busy 2-core machine the node starts 2-5x faster (outage
		# tests restart it) and burns less CPU, at the cost of peak throughput.
		[[ ${ES_FULL_JIT:-0} == 1 ]] || echo "-XX:TieredStopAtLevel=1"
	} >"$RUN/config/jvm.options.d/siemscore.options"
}

start() { # port
	local url pid t0 jhome runas=()
	if pid=$(server_pid); then
		[[ -s $RUN/url ]] || die "server pid $pid runs without $RUN/url (an interrupted start?); use: es.sh stop"
		url=$(<"$RUN/url")
		healthy "$url" "${ES_START_TIMEOUT:-120}" || die "server (pid $pid) at $url is not healthy"
		echo "$url"
		return
	fi
	need python3 "Debian: apt-get install python3"
	jhome=$(java_home)
	build
	write_config "$1"
	rm -f "$RUN/pid" "$RUN/url"
	if [[ $(id -u) == 0 ]]; then
		chown -R "$UNPRIVILEGED_UID:$UNPRIVILEGED_UID" "$RUN"
		runas=(setpriv --reuid="$UNPRIVILEGED_UID" --regid="$UNPRIVILEGED_UID" --clear-groups)
	fi
	t0=$(date +%s%N)
	# -d returns once the node has started (or failed to); the JVM is then the only process left.
	# It must not inherit fd 9, the es.sh lock, or every later es.sh would wait for it.
	if ! (cd "$ES_HOME" && env -u JAVA_HOME ES_JAVA_HOME="$jhome" ES_PATH_CONF="$RUN/config" ES_TMPDIR="$RUN/tmp" \
		"${runas[@]}" ./bin/elasticsearch -d -p "$RUN/pid" 9>&-) >"$RUN/launcher.log" 2>&1; then
		show_failure
		exit 1
	fi
	url=http://127.0.0.1:$1
	if ! healthy "$url" "${ES_START_TIMEOUT:-120}"; then
		show_failure
		if pid=$(server_pid); then
			kill -TERM "$pid"
		fi
		exit 1
	fi
	echo "$1" >"$RUN/port"
	echo "$url" >"$RUN/url"
	echo "es.sh: Elasticsearch $ES_VERSION up at $url in $((($(date +%s%N) - t0) / 1000000)) ms (pid $(<"$RUN/pid"))" >&2
	echo "$url"
}

stop() {
	local pid
	rm -f "$RUN/url"
	pid=$(server_pid) || {
		rm -f "$RUN/pid"
		echo "es.sh: not running" >&2
		return
	}
	kill -TERM "$pid"
	for _ in $(seq 1 120); do
		kill -0 "$pid" 2>/dev/null || {
			echo "es.sh: stopped (pid $pid)" >&2
			rm -f "$RUN/pid"
			return
		}
		sleep 0.5
	done
	echo "es.sh: pid $pid ignored SIGTERM for 60s; killing it" >&2
	kill -KILL "$pid" 2>/dev/null || true
	while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
	rm -f "$RUN/pid"
}

start_port() {
	local saved
	if [[ -n ${ES_PORT:-} ]]; then
		echo "$ES_PORT"
		return
	fi
	saved=$(cat "$RUN/port" 2>/dev/null || true)
	if [[ -n $saved ]] && ! port_in_use "$saved"; then
		echo "$saved"
	else
		free_port
	fi
}

cmd=${1:-}
if [[ -n ${ES_URL:-} ]]; then
	case $cmd in
	start | stop | restart | clean) echo "es.sh: ES_URL is set ($ES_URL); not managing a local server" >&2 ;;
	url) echo "$ES_URL" ;;
	status) healthy "$ES_URL" 5 && echo "external $ES_URL" || {
		echo "external $ES_URL is not answering" >&2
		exit 3
	} ;;
	*) die "usage: es.sh start|stop|restart|status|url|clean" ;;
	esac
	exit 0
fi

mkdir -p "$RUN"
case $cmd in
start | stop | restart | clean)
	need flock "Debian: apt-get install util-linux"
	# Parallel test packages may all ask for the server at once.
	exec 9>"$RUN/es.lock"
	flock -w 600 9 || die "another es.sh has held $RUN/es.lock for 10 minutes"
	;;
esac
case $cmd in
start) start "$(start_port)" ;;
stop) stop ;;
restart)
	port=${ES_PORT:-$(cat "$RUN/port" 2>/dev/null || true)}
	[[ -n $port ]] || die "restart: no previous port in $RUN/port; use start"
	stop
	start "$port"
	;;
status)
	if pid=$(server_pid) && [[ -s $RUN/url ]]; then
		echo "running $(<"$RUN/url") pid $pid"
	else
		echo "stopped"
		exit 3
	fi
	;;
url)
	[[ -s $RUN/url ]] && server_pid >/dev/null || die "not running (use: es.sh start)"
	cat "$RUN/url"
	;;
clean)
	stop
	# The lock files stay: other processes may hold them open right now.
	find "$RUN" -mindepth 1 -maxdepth 1 ! -name '*.lock' -exec rm -rf {} +
	echo "es.sh: deleted all data under $RUN" >&2
	;;
*) die "usage: es.sh start|stop|restart|status|url|clean" ;;
esac

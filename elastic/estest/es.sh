#!/usr/bin/env bash
# es.sh — run the real Elasticsearch 8.x server that siemscore's integration tests talk to.
#
#   es.sh start     install on first use, start on 127.0.0.1, wait for yellow, print the URL
#   es.sh stop      SIGTERM the server and wait for it to exit (data is kept)
#   es.sh restart   stop + start on the same port and data directory (outage tests)
#   es.sh status    say whether it runs (exit 0) or not (exit 3)
#   es.sh url       print the URL of the running server
#   es.sh clean     stop and delete this clone's data
#
# Environment:
#   ES_URL          use this existing cluster instead: start/stop/restart/clean do nothing
#   ES_PORT         HTTP port for start (default: the previous port if free, else a free one)
#   ES_HEAP         JVM heap, default 512m
#   ES_JAVA_HOME    JDK to run with (default: JAVA_HOME, else the `java` on PATH)
#   ES_FULL_JIT=1   use the C2 JIT too (slower start, full speed; for benchmarks)
#   ES_START_TIMEOUT seconds to wait for the cluster to turn yellow, default 120
#   ES_CACHE_DIR    where the server is installed and keeps its data (see "Where things live")
#
# Where things live. The clone may sit in a folder no other user can enter (/root, a
# `mktemp -d` folder), while Elasticsearch refuses to run as root: a root es.sh runs it as
# nobody, who could not read it there. So the server and its data live in a cache outside the
# clone, which the user running the server can use:
#   $CACHE/elasticsearch-<version>/   the unpacked server, shared by every clone of this user
#   $CACHE/servers/<clone>-<hash>/    one per clone (hash of its path): node/ holds the node's
#                                     config, data, logs, tmp and pid; clone names the clone
# $CACHE is ES_CACHE_DIR, else /var/cache/siemscore for root, else
# ${XDG_CACHE_HOME:-$HOME/.cache}/siemscore. run/ beside this script keeps what the clone's
# tests read (url, port, the *.lock files, launcher.log, maven.log) and a link `server` to the
# clone's servers/ entry.
set -euo pipefail
# Whatever the caller's umask, the server user must be able to read the installed server.
umask 022

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
RUN=$HERE/run
ES_VERSION=$(sed -n 's:.*<es.version>\(.*\)</es.version>.*:\1:p' "$HERE/pom.xml")
CLUSTER=siemscore-test
# Elasticsearch refuses to run as root, and test machines often are root:
# the server then runs as nobody, which owns the clone's node directory.
UNPRIVILEGED_UID=65534
RUNAS=()
[[ $(id -u) != 0 ]] || RUNAS=(setpriv --reuid="$UNPRIVILEGED_UID" --regid="$UNPRIVILEGED_UID" --clear-groups)

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

# The cache holds the server for every clone of this user and one node directory per clone.
# root's must be one that uid 65534 may enter and no other user may change: root installs there
# what the server runs.
cache_dir() {
	if [[ -n ${ES_CACHE_DIR:-} ]]; then
		echo "$ES_CACHE_DIR"
	elif [[ $(id -u) == 0 ]]; then
		echo /var/cache/siemscore
	elif [[ -n ${XDG_CACHE_HOME:-} || -n ${HOME:-} ]]; then
		echo "${XDG_CACHE_HOME:-$HOME/.cache}/siemscore"
	else
		die "neither HOME nor XDG_CACHE_HOME is set, so there is no cache for the server: set ES_CACHE_DIR to a folder of yours"
	fi
}

# as_server runs a command as the user the server runs as: nobody under root, else the caller.
# As root, everything inside the node directory is written this way, never by root: nobody owns
# that directory, and root following a link planted there could overwrite any file.
as_server() {
	"${RUNAS[@]}" "$@"
}

install_server() {
	local stage first
	[[ -x $ES_HOME/bin/elasticsearch ]] && return
	need mvn "Debian: apt-get install maven"
	# Clones of one user share the install: the first to get here fetches it, the others wait.
	exec 8>"$CACHE/install.lock"
	flock -w 900 8 || die "another es.sh has been installing Elasticsearch into $CACHE for 15 minutes ($CACHE/install.lock)"
	if [[ ! -x $ES_HOME/bin/elasticsearch ]]; then
		echo "es.sh: first use: fetching Elasticsearch $ES_VERSION from Maven Central (~110 MB) into $ES_HOME..." >&2
		stage=$(mktemp -d "$CACHE/.install.XXXXXX")
		# Maven runs as the caller, with the caller's ~/.m2; the server only ever reads the result.
		if ! mvn -B -f "$HERE/pom.xml" -Des.build.dir="$stage" package >"$RUN/maven.log" 2>&1; then
			rm -rf "$stage"
			# The first [ERROR] with text is the cause; the log may start with colour codes.
			first=$(sed -n 's/\x1b\[[0-9;]*m//g; s/^\[ERROR\] \(..*\)/\1/p' "$RUN/maven.log" | head -n 1 | cut -c1-300)
			die "Maven could not fetch Elasticsearch $ES_VERSION (${first% -> \[Help*}): check Maven's access to Maven Central and its local repository, ~/.m2 (full log: $RUN/maven.log)"
		fi
		[[ -x $stage/elasticsearch-$ES_VERSION/bin/elasticsearch ]] || {
			rm -rf "$stage"
			die "Maven finished but bin/elasticsearch is missing from what it unpacked (log: $RUN/maven.log)"
		}
		chmod -R u+rwX,go+rX,go-w "$stage/elasticsearch-$ES_VERSION"
		# A rename, so other clones never see half an install.
		rm -rf "$ES_HOME"
		mv "$stage/elasticsearch-$ES_VERSION" "$ES_HOME"
		rm -rf "$stage"
	fi
	exec 8>&-
}

# prepare_node makes this clone's node directory and, under root, checks that nobody can use
# everything the server needs, saying in one line what to change if not.
prepare_node() { # java-home
	local err
	# Other users may pass through to the node directory, but not list clones or read their paths.
	[[ -d $STATE ]] || mkdir -m 711 "$STATE"
	(umask 077 && echo "$HERE" >"$STATE/clone")
	ln -sfn "$STATE" "$RUN/server"
	if [[ ! -d $NODE ]]; then
		mkdir -m 700 "$NODE"
		[[ $(id -u) != 0 ]] || chown "$UNPRIVILEGED_UID:$UNPRIVILEGED_UID" "$NODE"
	fi
	[[ $(id -u) == 0 ]] || return 0
	need setpriv "Debian: apt-get install util-linux"
	err=$(as_server true 2>&1) ||
		die "Elasticsearch refuses to run as root, and es.sh cannot switch to uid $UNPRIVILEGED_UID (nobody) to run it ($err): run es.sh as an ordinary user"
	as_server test -x "$1/bin/java" ||
		die "uid $UNPRIVILEGED_UID (nobody), who runs Elasticsearch for root, cannot run $1/bin/java: set ES_JAVA_HOME to a JDK 17+ that every user can read"
	# The install is made readable to all, so reaching the node means reaching it too.
	as_server test -w "$NODE" ||
		die "uid $UNPRIVILEGED_UID (nobody), who runs Elasticsearch for root, cannot use $CACHE (a folder above it is private?): set ES_CACHE_DIR to a folder every user can enter, such as the default /var/cache/siemscore"
}

# node_pid prints the pid of the server running from a node directory. The pid file may be
# stale after a crash or reboot, naming an unrelated process or another clone's server; only
# a JVM whose temporary directory (its one per-node argument) is this node's is ours.
node_pid() { # node-dir
	local pid
	[[ -s $1/pid ]] || return 1
	pid=$(<"$1/pid")
	grep -qzxF -- "-Djava.io.tmpdir=$1/tmp" "/proc/$pid/cmdline" 2>/dev/null || return 1
	echo "$pid"
}

server_pid() { node_pid "$NODE"; }

port_in_use() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Ports below the kernel's ephemeral range: there, only another es.sh can take the port
# between this check and the server binding it (outgoing connections and port-0 listeners
# are given ephemeral ports).
free_port() {
	local port low
	read -r low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || low=32768
	((low > 20000 + 1000)) || low=50000
	for _ in $(seq 1 100); do
		port=$((20000 + RANDOM % (low - 20000)))
		port_in_use "$port" || {
			echo "$port"
			return
		}
	done
	die "found no free TCP port on 127.0.0.1 between 20000 and $low: set ES_PORT to a free one"
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

# One line says why and where to look; the ERROR lines and log ends below it are for CI logs,
# which outlive the machine.
show_failure() { # what-happened
	local log logs=() first=""
	for log in "$RUN/launcher.log" "$NODE/logs/$CLUSTER.log"; do
		[[ -s $log ]] || continue
		logs+=("$log")
		[[ -n $first ]] || first=$(grep -m1 -E '^\[[^]]*\]\[(ERROR|FATAL)|^ERROR:|^Error:|^Caused by:' "$log" | cut -c1-300 || true)
	done
	echo "es.sh: Elasticsearch $1: ${first:-no error logged}; see ${logs[*]:-$RUN/launcher.log}" >&2
	for log in "${logs[@]}"; do
		# The cause is in the ERROR/FATAL lines; the tail is mostly shutdown noise.
		echo "es.sh: errors in $log:" >&2
		grep -E '^\[[^]]*\]\[(ERROR|FATAL)|^ERROR:|^Error:|^Caused by:' "$log" | cut -c1-400 | head -n 15 >&2 || true
		echo "es.sh: last lines of $log:" >&2
		tail -n 10 "$log" | cut -c1-400 >&2
	done
}

write_config() { # port
	local conf=$NODE/config
	as_server rm -rf "$conf/jvm.options.d"
	as_server mkdir -p "$conf" "$NODE/data" "$NODE/logs" "$NODE/tmp"
	as_server cp -R "$ES_HOME/config/." "$conf/"
	as_server tee "$conf/elasticsearch.yml" >/dev/null <<EOF
# Written by es.sh on every start: change es.sh, not this file.
cluster.name: $CLUSTER
node.name: $CLUSTER
path.data: $NODE/data
path.logs: $NODE/logs
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
	} | as_server tee "$conf/jvm.options.d/siemscore.options" >/dev/null
}

start() { # port
	local url pid t0 jhome
	if pid=$(server_pid); then
		[[ -s $RUN/url ]] || die "server pid $pid runs without $RUN/url (an interrupted start?); use: es.sh stop"
		url=$(<"$RUN/url")
		healthy "$url" "${ES_START_TIMEOUT:-120}" || die "server (pid $pid) at $url is not healthy"
		echo "$url"
		return
	fi
	need python3 "Debian: apt-get install python3"
	jhome=$(java_home)
	prepare_node "$jhome"
	install_server
	port_in_use "$1" && die "port $1 on 127.0.0.1 is taken by another program: unset ES_PORT, or run es.sh stop then es.sh start, which picks a free port"
	write_config "$1"
	rm -f "$RUN/url"
	as_server rm -f "$NODE/pid"
	t0=$(date +%s%N)
	# -d returns once the node has started (or failed to); the JVM is then the only process left.
	# It must not inherit fd 9, the es.sh lock, or every later es.sh would wait for it.
	if ! (cd "$ES_HOME" && env -u JAVA_HOME ES_JAVA_HOME="$jhome" ES_PATH_CONF="$NODE/config" ES_TMPDIR="$NODE/tmp" \
		"${RUNAS[@]}" ./bin/elasticsearch -d -p "$NODE/pid" 9>&-) >"$RUN/launcher.log" 2>&1; then
		show_failure "failed to start"
		exit 1
	fi
	url=http://127.0.0.1:$1
	if ! healthy "$url" "${ES_START_TIMEOUT:-120}"; then
		show_failure "did not turn yellow at $url within ${ES_START_TIMEOUT:-120} s"
		if pid=$(server_pid); then
			kill -TERM "$pid"
		fi
		exit 1
	fi
	echo "$1" >"$RUN/port"
	echo "$url" >"$RUN/url"
	echo "es.sh: Elasticsearch $ES_VERSION up at $url in $((($(date +%s%N) - t0) / 1000000)) ms (pid $(<"$NODE/pid"), node $NODE)" >&2
	echo "$url"
}

stop() {
	local pid
	rm -f "$RUN/url"
	pid=$(server_pid) || {
		echo "es.sh: not running" >&2
		return
	}
	kill -TERM "$pid"
	for _ in $(seq 1 120); do
		kill -0 "$pid" 2>/dev/null || {
			echo "es.sh: stopped (pid $pid)" >&2
			return
		}
		sleep 0.5
	done
	echo "es.sh: pid $pid ignored SIGTERM for 60s; killing it" >&2
	kill -KILL "$pid" 2>/dev/null || true
	while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
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

# Node directories of clones that are gone would otherwise pile up in the cache (every
# `mktemp -d` clone leaves one). A directory without a clone file is being made right now.
prune() {
	local dir clone
	for dir in "$CACHE"/servers/*/; do
		dir=${dir%/}
		[[ -s $dir/clone ]] || continue
		clone=$(<"$dir/clone")
		if [[ ! -e $clone/es.sh ]] && ! node_pid "$dir/node" >/dev/null; then
			rm -rf "$dir"
		fi
	done
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

CACHE=$(cache_dir)
ES_HOME=$CACHE/elasticsearch-$ES_VERSION
STATE=$CACHE/servers/$(basename "$(dirname "$(dirname "$HERE")")")-$(printf %s "$HERE" | sha256sum | cut -c1-12)
NODE=$STATE/node

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
start | restart)
	{ mkdir -p "$CACHE" && { [[ -d $CACHE/servers ]] || mkdir -m 711 "$CACHE/servers"; }; } 2>/dev/null ||
		die "cannot create $CACHE/servers for the server's install and data: set ES_CACHE_DIR to a folder you can write"
	# root installs there the server that uid 65534 runs: a cache another user could change
	# (swap the server, plant links) is refused.
	[[ $(id -u) != 0 || -n $(find -H "$CACHE" -maxdepth 0 -user 0 ! -perm /022) ]] ||
		die "$CACHE is not root's alone (owner or group/other write): fix its owner and mode, or set ES_CACHE_DIR to another folder"
	prune
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
	rm -rf "$STATE"
	echo "es.sh: deleted all data of this clone ($STATE)" >&2
	;;
*) die "usage: es.sh start|stop|restart|status|url|clean" ;;
esac

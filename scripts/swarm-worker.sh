#!/usr/bin/env bash
# Starts a second Docker daemon on this machine and joins it to the local
# Swarm as a worker node, for the multi-node tests; tears it down again.
#
#   scripts/swarm-worker.sh run [--image IMAGE]... [--active] -- COMMAND [ARG]...
#       starts a worker, runs COMMAND with the worker's variables in its
#       environment (below), removes the worker (also when COMMAND fails or
#       the script is interrupted) and exits with COMMAND's status.
#   scripts/swarm-worker.sh up [--image IMAGE]... [--active]
#       starts a worker and prints its variables as NAME=VALUE lines.
#   scripts/swarm-worker.sh down ID
#       removes the worker ID (the node, its daemon, namespace and files).
#   scripts/swarm-worker.sh check
#       exits 0 when this machine can run a worker, else says why (exit 3).
#
# The worker:
#   - lives in its own network namespace pt-worker-ID, joined to the host by
#     a veth pair with addresses from a free 192.168.250.x/30 (the host end
#     .1, the namespace end .2), used only between the two;
#   - runs dockerd in that namespace (nsenter --net, not ip netns exec, which
#     remounts /sys and breaks dockerd's cgroup detection) and in a UTS
#     namespace of its own, so that its node is named pt-worker-ID; with its
#     own --data-root, --exec-root, --pidfile, socket and --config-file,
#     storage driver vfs, no default bridge, no iptables rules, its own
#     containerd namespace and cgroup parent: nothing the host daemon uses;
#   - reaches the manager at the address it advertises: 127.0.0.1:2377 (as
#     .ci/run initialises the Swarm) through a small relay
#     (scripts/tcprelay) listening on 127.0.0.1:2377 inside the namespace
#     and forwarding to the host end of the veth pair; another address of
#     the host through a route via the host end;
#   - joins with availability "drain", so no other service lands on it,
#     unless --active is given; tests make it active while they need it
#     (docker node update --availability active $PT_WORKER_NODE_ID);
#   - gets the images named by --image (default: podtemplate-e2e:latest when
#     it exists) by docker save | docker -H $PT_WORKER_HOST load.
#
# Variables (printed by up, exported to COMMAND by run):
#   PT_WORKER_ID        the worker's ID (for down)
#   PT_WORKER_NODE      the node name, pt-worker-ID
#   PT_WORKER_NODE_ID   the Swarm node ID
#   PT_WORKER_HOST      the worker daemon, as for docker -H
#   PT_WORKER_PID       the worker dockerd's PID (tests kill it)
#   PT_WORKER_ADDR      the worker's address (the namespace end of the veth)
#
# Needs root, a Docker daemon that is a Swarm manager, ip (iproute2) with
# netns support, nsenter and unshare (util-linux), and Go (to build the
# relay). `check` tells what is missing. Everything it starts is stopped by
# PID; it never touches processes, namespaces or files it did not create.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
state_base=/run/pt-worker
data_base=/var/lib/pt-worker

say() { echo "swarm-worker: $*" >&2; }
die() { say "$*"; exit 1; }

# check: can this machine run a worker? Prints the reason and returns 3 if
# not (no daemon, not a manager, no ip netns, no nsenter, not root).
check() {
	local missing=()
	for tool in ip nsenter unshare dockerd docker go; do
		command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		say "cannot start a worker: missing ${missing[*]}"
		return 3
	fi
	if [ "$(id -u)" != 0 ]; then
		say "cannot start a worker: needs root (network namespaces, a second dockerd)"
		return 3
	fi
	if ! docker info >/dev/null 2>&1; then
		say "cannot start a worker: no Docker daemon answers"
		return 3
	fi
	if [ "$(docker info --format '{{.Swarm.ControlAvailable}}')" != true ]; then
		say "cannot start a worker: the Docker daemon is not a Swarm manager"
		return 3
	fi
	local probe="pt-worker-probe$$"
	if ! ip netns add "$probe" 2>/dev/null; then
		say "cannot start a worker: ip netns add fails here (no network namespaces)"
		return 3
	fi
	ip netns del "$probe" 2>/dev/null || true
	return 0
}

# free_subnet prints the third and fourth octet base of a free /30 in
# 192.168.250.0/24: one that no address or route of the host overlaps.
free_subnet() {
	local i base
	for i in $(seq 0 63); do
		base=$((i * 4))
		if ip -4 route show match "192.168.250.$((base + 1))" | grep -vq '^default' ||
			ip -4 -o addr show | grep -q " 192\.168\.250\.$((base + 1))/\| 192\.168\.250\.$((base + 2))/"; then
			continue
		fi
		echo "$base"
		return 0
	done
	return 1
}

# stop_pid PID: TERM, wait up to 20 s, then KILL; only if the process is
# still the one started (its command line names this worker's folder).
stop_pid() {
	local pid=$1 mark=$2 i
	[ -n "$pid" ] || return 0
	kill -0 "$pid" 2>/dev/null || return 0
	if ! tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "$mark"; then
		return 0 # the PID was reused by another process
	fi
	kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 1 200); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
}

# down ID: removes everything the worker ID consists of. Idempotent; goes
# on past failures.
down() {
	local id=$1
	local run="$state_base/$id" data="$data_base/$id" ns="pt-worker-$id"
	local host="unix://$run/docker.sock"
	local node_id="" dockerd_pid="" relay_pid="" containerd_pid=""
	[ -f "$run/node_id" ] && node_id=$(cat "$run/node_id")
	[ -f "$run/dockerd.pid" ] && dockerd_pid=$(cat "$run/dockerd.pid")
	[ -f "$run/dockerd.started" ] && dockerd_pid=${dockerd_pid:-$(cat "$run/dockerd.started")}
	[ -f "$run/relay.pid" ] && relay_pid=$(cat "$run/relay.pid")
	[ -f "$run/exec/containerd/containerd.pid" ] && containerd_pid=$(cat "$run/exec/containerd/containerd.pid")

	if [ -n "$dockerd_pid" ] && kill -0 "$dockerd_pid" 2>/dev/null; then
		# Leave the Swarm and remove the containers the worker still runs,
		# so that dockerd and its containerd stop cleanly.
		timeout 30 docker -H "$host" swarm leave --force >/dev/null 2>&1 || true
		local ids
		ids=$(timeout 20 docker -H "$host" ps -aq 2>/dev/null || true)
		if [ -n "$ids" ]; then
			# shellcheck disable=SC2086
			timeout 60 docker -H "$host" rm -f $ids >/dev/null 2>&1 || true
		fi
	fi
	if [ -n "$node_id" ]; then
		docker node rm --force "$node_id" >/dev/null 2>&1 || true
	fi
	stop_pid "$dockerd_pid" "$run"
	stop_pid "$containerd_pid" "$run"
	stop_pid "$relay_pid" "$run"
	# After a killed dockerd, the containers and containerd's shims outlive
	# it: the containers' PIDs are in containerd's state folder (init.pid),
	# and the shims are the processes started with this worker's containerd
	# socket as their -address.
	local f pid
	for f in "$run"/exec/containerd/daemon/io.containerd.runtime.v2.task/*/*/init.pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		if [ -n "$pid" ] && grep -q "/pt-worker-$id/" "/proc/$pid/cgroup" 2>/dev/null; then
			kill -KILL "$pid" 2>/dev/null || true
		fi
	done
	local sock="$run/exec/containerd/containerd.sock"
	for f in /proc/[0-9]*/cmdline; do
		pid=${f#/proc/}
		pid=${pid%/cmdline}
		if tr '\0' ' ' 2>/dev/null <"$f" | grep -qF -- "-address $sock "; then
			stop_pid "$pid" "$sock"
		fi
	done
	# Mounts dockerd left under its folders (network namespaces of
	# containers, after a KILL), deepest first.
	local m
	for m in $(awk -v a="$run" -v b="$data" '$5 == a || $5 == b || index($5, a "/") == 1 || index($5, b "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
		umount -l "$m" 2>/dev/null || true
	done
	# The cgroups dockerd made under its cgroup parent (empty now).
	local cg
	for cg in /sys/fs/cgroup/*/pt-worker-"$id" /sys/fs/cgroup/pt-worker-"$id"; do
		[ -d "$cg" ] && find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true
	done
	ip link del "ptw${id}h" 2>/dev/null || true
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$data" "$run"
	say "removed worker pt-worker-$id"
}

# up: starts a worker; prints its variables. On failure it removes what it
# created and exits non-zero.
up() {
	local images=() active=no
	while [ $# -gt 0 ]; do
		case $1 in
		--image) images+=("$2"); shift 2 ;;
		--active) active=yes; shift ;;
		*) die "up: unknown argument $1" ;;
		esac
	done
	check || exit $?
	if [ ${#images[@]} -eq 0 ] && docker image inspect podtemplate-e2e:latest >/dev/null 2>&1; then
		images=(podtemplate-e2e:latest)
	fi

	local id
	id=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
	local run="$state_base/$id" data="$data_base/$id" ns="pt-worker-$id"
	local node="pt-worker-$id" host="unix://$state_base/$id/docker.sock"
	mkdir -p "$run/exec" "$data"
	# From here on, a failure or a signal removes what was created (up_id
	# is global: the trap may run outside this function).
	up_id=$id
	up_done=no
	trap '[ "$up_done" = yes ] || { say "start failed or interrupted; cleaning up"; down "$up_id"; }' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	local base
	base=$(free_subnet) || die "no free /30 in 192.168.250.0/24"
	local host_ip="192.168.250.$((base + 1))" ns_ip="192.168.250.$((base + 2))"

	ip netns add "$ns"
	ip link add "ptw${id}h" type veth peer name "ptw${id}n"
	ip link set "ptw${id}n" netns "$ns"
	ip addr add "$host_ip/30" dev "ptw${id}h"
	ip link set "ptw${id}h" up
	ip -n "$ns" addr add "$ns_ip/30" dev "ptw${id}n"
	ip -n "$ns" link set "ptw${id}n" up
	ip -n "$ns" link set lo up
	# No default route: nothing can be pulled anyway, and without a route
	# the worker's pull attempts (images have no registry digest) fail at
	# once instead of waiting for DNS timeouts.

	# The manager's address as it advertises it, which the worker must
	# reach from the namespace: a loopback address (docker swarm init
	# --advertise-addr 127.0.0.1) through a relay listening on it inside
	# the namespace; another address of the host through a route via the
	# host end of the veth pair.
	local manager manager_host manager_port
	manager=$(docker info --format '{{range .Swarm.RemoteManagers}}{{.Addr}} {{end}}' | awk '{ print $1 }')
	manager_host=${manager%:*}
	manager_port=${manager##*:}
	[ -n "$manager_host" ] && [ -n "$manager_port" ] || die "cannot read the manager's address (docker info: $manager)"
	case $manager_host in
	127.*)
		go build -o "$run/tcprelay" "$root/scripts/tcprelay"
		nsenter --net="/run/netns/$ns" "$run/tcprelay" -listen "$manager_host:$manager_port" -to "$host_ip:$manager_port" \
			>"$run/relay.log" 2>&1 &
		echo $! >"$run/relay.pid"
		;;
	*)
		ip -n "$ns" route add "$manager_host/32" via "$host_ip"
		;;
	esac

	cat >"$run/daemon.json" <<JSON
{
  "bridge": "none",
  "iptables": false,
  "ip-masq": false,
  "cgroup-parent": "/pt-worker-$id",
  "containerd-namespace": "pt-worker-$id",
  "containerd-plugins-namespace": "pt-worker-$id-plugins",
  "log-driver": "json-file",
  "mtu": 1400
}
JSON
	# unshare --uts gives the daemon a host name of its own: the node name.
	nsenter --net="/run/netns/$ns" unshare --uts sh -c "hostname $node && exec dockerd \
		--config-file $run/daemon.json \
		--data-root $data \
		--exec-root $run/exec \
		--pidfile $run/dockerd.pid \
		-H $host \
		--storage-driver vfs" >"$run/dockerd.log" 2>&1 &
	echo $! >"$run/dockerd.started"
	local pid i
	pid=$(cat "$run/dockerd.started")
	for i in $(seq 1 300); do
		docker -H "$host" version >/dev/null 2>&1 && break
		kill -0 "$pid" 2>/dev/null || { tail -20 "$run/dockerd.log" >&2; false; }
		sleep 0.1
	done
	docker -H "$host" version >/dev/null 2>&1 || { tail -20 "$run/dockerd.log" >&2; false; }

	if [ ${#images[@]} -gt 0 ]; then
		docker save "${images[@]}" | docker -H "$host" load >/dev/null
	fi

	local token
	token=$(docker swarm join-token -q worker)
	docker -H "$host" swarm join --token "$token" --availability drain \
		--advertise-addr "$ns_ip" --listen-addr "$ns_ip:2377" "$manager" >/dev/null
	local node_id
	node_id=$(docker -H "$host" info --format '{{.Swarm.NodeID}}')
	echo "$node_id" >"$run/node_id"
	for i in $(seq 1 300); do
		[ "$(docker node inspect --format '{{.Status.State}}' "$node_id" 2>/dev/null)" = ready ] && break
		sleep 0.1
	done
	[ "$(docker node inspect --format '{{.Status.State}}' "$node_id")" = ready ] || {
		say "node $node did not become ready"
		false
	}
	if [ "$active" = yes ]; then
		docker node update --availability active "$node_id" >/dev/null
	fi
	up_done=yes
	trap - EXIT INT TERM
	say "worker $node ($node_id) joined at $ns_ip, images: ${images[*]:-none}"
	cat <<VARS
PT_WORKER_ID=$id
PT_WORKER_NODE=$node
PT_WORKER_NODE_ID=$node_id
PT_WORKER_HOST=$host
PT_WORKER_PID=$pid
PT_WORKER_ADDR=$ns_ip
VARS
}

# run: up, COMMAND, down.
run() {
	local args=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		args+=("$1")
		shift
	done
	[ "${1:-}" = -- ] && shift
	[ $# -gt 0 ] || die "run: no COMMAND (usage: $0 run [--image IMAGE]... [--active] -- COMMAND...)"
	local vars
	vars=$(up "${args[@]}")
	# Global: the EXIT trap runs after this function has returned.
	run_worker_id=$(sed -n 's/^PT_WORKER_ID=//p' <<<"$vars")
	trap 'down "$run_worker_id"' EXIT
	local line
	while IFS= read -r line; do
		export "${line?}"
	done <<<"$vars"
	# COMMAND runs in a process group of its own, in the background, so
	# that a signal reaches this script at once (not when COMMAND ends) and
	# is passed on to COMMAND's whole group (go test and its test binary).
	setsid "$@" &
	run_child=$!
	trap 'stop_group; exit 130' INT
	trap 'stop_group; exit 143' TERM
	local code=0
	wait "$run_child" || code=$?
	return $code
}

# stop_group ends the process group of run's COMMAND: TERM, then KILL
# after 10 s.
stop_group() {
	local i
	kill -TERM -- "-$run_child" 2>/dev/null || return 0
	for i in $(seq 1 100); do
		kill -0 -- "-$run_child" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL -- "-$run_child" 2>/dev/null || true
}

case ${1:-} in
up) shift; up "$@" ;;
down) [ $# -eq 2 ] || die "usage: $0 down ID"; down "$2" ;;
run) shift; run "$@" ;;
check) check ;;
*) die "usage: $0 up|down ID|run|check (see the comment at the top)" ;;
esac

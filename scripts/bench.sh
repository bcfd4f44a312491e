#!/usr/bin/env bash
# Benchmarks podtemplate render on generated workloads (100, 1000, 3000 and
# 10000 services; each a pod with file pod, transformer and sidecar
# templates, per-service args, ports, labels and environment), and
# `docker stack config` reading our output in the same run.
# Prints a table: median wall time of 5 runs, peak RSS, and the ratios the
# targets are stated in (podlike's figures are the ones measured on these
# machines, given in the performance issue).
# Usage: scripts/bench.sh [SIZES...]   (default: 100 1000 3000 10000)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100 1000 3000 10000)
runs=5
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time is needed (apt-get install time)"; exit 1; }
go build -o "$work/podtemplate" ./cmd/podtemplate
have_docker=no
if docker stack config --help >/dev/null 2>&1; then have_docker=yes; fi

# podlike's `template` command here (2 vCPU, median of 5): seconds and MiB.
declare -A podlike_s=([1000]=0.96 [3000]=3.22 [10000]=14.3)
declare -A podlike_mib=([1000]=63 [3000]=169 [10000]=528)

# median of the numbers on stdin
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

printf '%-8s %9s %9s %12s %10s %12s %12s %11s\n' services render_s rss_MiB stackconfig_s vs_config vs_podlike_t vs_podlike_m out_MiB
declare -A t_of m_of
for n in "${sizes[@]}"; do
	dir="$work/n$n"
	go run ./scripts/benchgen "$dir" "$n" >/dev/null
	times=() mems=() ctimes=()
	for _ in $(seq $runs); do
		/usr/bin/time -f '%e %M' -o "$work/time" "$work/podtemplate" render -c "$dir/stack.yml" -o "$dir/out.yml"
		read -r t m <"$work/time"
		times+=("$t") mems+=("$m")
		if [ $have_docker = yes ]; then
			/usr/bin/time -f '%e' -o "$work/ctime" docker stack config -c "$dir/out.yml" >/dev/null
			ctimes+=("$(cat "$work/ctime")")
		fi
	done
	t=$(printf '%s\n' "${times[@]}" | median)
	m=$(printf '%s\n' "${mems[@]}" | median)
	mib=$(awk -v k="$m" 'BEGIN {printf "%.1f", k/1024}')
	t_of[$n]=$t m_of[$n]=$mib
	ct=- vc=- vpt=- vpm=-
	if [ $have_docker = yes ]; then
		ct=$(printf '%s\n' "${ctimes[@]}" | median)
		vc=$(awk -v a="$t" -v b="$ct" 'BEGIN {if (b > 0) printf "%.2fx", a/b; else print "-"}')
	fi
	if [ -n "${podlike_s[$n]:-}" ]; then
		vpt=$(awk -v a="$t" -v b="${podlike_s[$n]}" 'BEGIN {printf "%.2fx", a/b}')
		vpm=$(awk -v a="$mib" -v b="${podlike_mib[$n]}" 'BEGIN {printf "%.2fx", a/b}')
	fi
	out=$(awk -v s="$(stat -c %s "$dir/out.yml")" 'BEGIN {printf "%.1f", s/1048576}')
	printf '%-8s %9s %9s %12s %10s %12s %12s %11s\n' "$n" "$t" "$mib" "$ct" "$vc" "$vpt" "$vpm" "$out"
done
if [ -n "${t_of[3000]:-}" ] && [ -n "${t_of[10000]:-}" ]; then
	awk -v t3="${t_of[3000]}" -v t10="${t_of[10000]}" -v m3="${m_of[3000]}" -v m10="${m_of[10000]}" \
		'BEGIN {printf "growth 3000 -> 10000 services: time %.2fx, memory %.2fx (linear: 3.33x; target at most 3.6x)\n", t10/t3, m10/m3}'
fi
echo "targets: 3000 services <= 0.32 s and <= 0.25x docker stack config on our output; peak RSS <= 0.5x podlike at every size"

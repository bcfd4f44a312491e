#!/usr/bin/env bash
# Benchmarks podtemplate render on generated workloads (each service a pod
# with file pod, transformer and sidecar templates, per-service args, ports,
# labels and environment) against, in the same run:
#  - the floor: reading, parsing and writing the same stack with the
#    project's codec and nothing else (transform/internal/codec/floor);
#  - `docker stack config` reading our output (where docker is installed);
#  - podlike's `template` command on the same stack (where a podlike binary
#    is found: $PODLIKE, /work/podlike-build/podlike or podlike on PATH;
#    this repository never builds it);
#  - a Go hello-world, for start-up (`podtemplate version`, a 10-service
#    render), and the same hello-world linking every package podtemplate
#    imports from other modules, without podtemplate's start-up prefault
#    (internal/prefault/startup): the start-up its dependencies alone cost
#    (printed for context; no goal is measured against it).
# Prints median wall times and peak RSS, then every goal of the performance
# issue with its measured ratio and "met" or "missed".
# Usage: scripts/bench.sh [SIZES...]   (default: 1000 3000 10000 30000)
# Environment: RUNS (timed runs at up to 3000 services, default 5; larger
# sizes run fewer), PODLIKE (podlike binary).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 3000 10000 30000)
RUNS=${RUNS:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Built as the Dockerfile and scripts/install.sh build it (static).
CGO_ENABLED=0 go build -trimpath -o "$work/podtemplate" ./cmd/podtemplate
go build -o "$work/floor" ./transform/internal/codec/floor
go build -o "$work/benchrun" ./scripts/benchrun
mkdir "$work/hello"
printf 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello, world") }\n' >"$work/hello/main.go"
printf 'module hello\n\ngo 1.24\n' >"$work/hello/go.mod"
(cd "$work/hello" && GOWORK=off CGO_ENABLED=0 go build -trimpath -o "$work/hello-world" .)
# The hello-world again, in a copy of this module (same versions), with a
# blank import of each package the project's programs import from other
# modules.
mkdir "$work/deps-hello"
sed 's|^module .*|module depshello|' go.mod >"$work/deps-hello/go.mod"
cp go.sum "$work/deps-hello/"
{
	printf 'package main\n\nimport (\n\t"fmt"\n\n'
	go list -deps -f '{{if and (not .Standard) (eq .Module.Path "'"$(go list -m)"'")}}{{range .Imports}}{{.}}{{"\n"}}{{end}}{{end}}' ./cmd/podtemplate |
		sort -u | grep '^[^/]*\.[^/]*/' | grep -v "^$(go list -m)/" | sed 's|.*|\t_ "&"|'
	printf ')\n\nfunc main() { fmt.Println("hello, world") }\n'
} >"$work/deps-hello/main.go"
(cd "$work/deps-hello" && GOWORK=off CGO_ENABLED=0 go build -trimpath -o "$work/deps-hello-world" .)
bench() { "$work/benchrun" "$@"; }

have_docker=no
if docker stack config --help >/dev/null 2>&1; then have_docker=yes; else echo "bench: no 'docker stack config' here; its column and goal are skipped"; fi
podlike=${PODLIKE:-}
if [ -z "$podlike" ]; then
	for p in /work/podlike-build/podlike "$(command -v podlike || true)"; do
		if [ -n "$p" ] && [ -x "$p" ]; then podlike=$p; break; fi
	done
fi
if [ -n "$podlike" ] && [ -x "$podlike" ]; then
	echo "bench: podlike is $podlike"
else
	podlike=
	echo "bench: no podlike binary (set PODLIKE=/path/to/podlike); its columns and goals are skipped"
fi
echo "bench: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u '+%Y-%m-%d %H:%M UTC')"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a != "-" && b != "-" && b > 0) printf "%.3f", a/b; else print "-"}'; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k/1024}'; }

declare -A t_of rss_of floor_of cfg_of pl_t_of pl_rss_of
fmt='%-8s %9s %8s %8s %9s %9s %10s %10s %8s %11s %8s %8s\n'
printf "$fmt" services render_s floor_s vs_floor config_s vs_config podlike_s vs_podlike rss_MiB podlike_MiB vs_rss out_MiB
for n in "${sizes[@]}"; do
	dir="$work/n$n"
	go run ./scripts/benchgen "$dir" "$n" >/dev/null
	runs=$RUNS few=3
	if [ "$n" -gt 3000 ]; then runs=3 few=1; fi
	read -r t rss < <(bench -n "$runs" -- "$work/podtemplate" render -c "$dir/stack.yml" -o "$dir/out.yml")
	read -r ft _ < <(bench -n "$runs" -- "$work/floor" "$dir/stack.yml" "$dir/floor.yml")
	t_of[$n]=$t rss_of[$n]=$(mib "$rss") floor_of[$n]=$ft
	ct=-
	if [ $have_docker = yes ]; then
		read -r ct _ < <(bench -n "$few" -- docker stack config -c "$dir/out.yml")
	fi
	cfg_of[$n]=$ct
	pt=- prss=-
	if [ -n "$podlike" ]; then
		# podlike reads Compose file versions up to 3.7.
		sed '1s/.*/version: "3.7"/' "$dir/stack.yml" >"$dir/podlike-stack.yml"
		read -r pt pk < <(cd "$dir" && bench -n "$few" -warmup 0 -stdout "$dir/podlike-out.yml" -- "$podlike" template podlike-stack.yml)
		prss=$(mib "$pk")
	fi
	pl_t_of[$n]=$pt pl_rss_of[$n]=$prss
	out=$(awk -v s="$(stat -c %s "$dir/out.yml")" 'BEGIN {printf "%.1f", s/1048576}')
	printf "$fmt" "$n" "$t" "$ft" "$(ratio "$t" "$ft")" "$ct" "$(ratio "$t" "$ct")" "$pt" "$(ratio "$t" "$pt")" \
		"${rss_of[$n]}" "$prss" "$(ratio "${rss_of[$n]}" "$prss")" "$out"
done

go run ./scripts/benchgen "$work/n10" 10 >/dev/null
read -r hello _ < <(bench -n 40 -warmup 3 -- "$work/hello-world")
read -r deps_hello _ < <(bench -n 40 -warmup 3 -- "$work/deps-hello-world")
read -r version _ < <(bench -n 40 -warmup 3 -- "$work/podtemplate" version)
read -r small _ < <(bench -n 40 -warmup 3 -- "$work/podtemplate" render -c "$work/n10/stack.yml" -o "$work/n10/out.yml")
printf 'start-up: Go hello-world %.1f ms, podtemplate version %.1f ms (%sx), 10-service render %.1f ms (%sx)\n' \
	"$(awk -v s="$hello" 'BEGIN {print s*1000}')" "$(awk -v s="$version" 'BEGIN {print s*1000}')" "$(ratio "$version" "$hello")" \
	"$(awk -v s="$small" 'BEGIN {print s*1000}')" "$(ratio "$small" "$hello")"
printf 'start-up context: the hello-world linking podtemplate'"'"'s dependencies (without its start-up prefault) %.1f ms (%sx the hello-world; podtemplate version %sx of it)\n' \
	"$(awk -v s="$deps_hello" 'BEGIN {print s*1000}')" "$(ratio "$deps_hello" "$hello")" "$(ratio "$version" "$deps_hello")"

# goal NAME VALUE LIMIT: prints the goal with "met" or "missed" ("-" when
# not measured in this run).
goal() {
	awk -v name="$1" -v v="$2" -v lim="$3" 'BEGIN {
		if (v == "-" || v == "") { printf "goal %-66s <= %-5s measured -       not measured\n", name, lim; exit }
		printf "goal %-66s <= %-5s measured %-7.3f %s\n", name, lim, v, (v <= lim ? "met" : "missed") }'
}
has() { [ -n "${t_of[$1]:-}" ]; }
report() { goal "$1" "$2" "$3"; }
echo
{
	has 3000 && report "3000 services: time / podlike's template" "$(ratio "${t_of[3000]}" "${pl_t_of[3000]}")" 0.06
	has 3000 && report "3000 services: time / docker stack config on our output" "$(ratio "${t_of[3000]}" "${cfg_of[3000]}")" 0.15
	has 1000 && report "1000 services: time / podlike's template" "$(ratio "${t_of[1000]}" "${pl_t_of[1000]}")" 0.10
	for n in "${sizes[@]}"; do
		report "$n services: time / floor (read, parse, write with the codec)" "$(ratio "${t_of[$n]}" "${floor_of[$n]}")" 1.6
	done
	report "start-up: podtemplate version / Go hello-world" "$(ratio "$version" "$hello")" 2
	report "start-up: 10-service render / Go hello-world" "$(ratio "$small" "$hello")" 2
	has 3000 && report "3000 services: peak RSS / podlike's" "$(ratio "${rss_of[3000]}" "${pl_rss_of[3000]}")" 0.35
	has 30000 && report "30000 services: peak RSS / podlike's" "$(ratio "${rss_of[30000]}" "${pl_rss_of[30000]}")" 0.35
	if has 3000 && has 30000; then
		report "growth 3000 -> 30000 services: time exponent (1 is linear)" \
			"$(awk -v a="${t_of[3000]}" -v b="${t_of[30000]}" 'BEGIN {printf "%.3f", log(b/a)/log(10)}')" 1.10
		report "growth 3000 -> 30000 services: memory exponent" \
			"$(awk -v a="${rss_of[3000]}" -v b="${rss_of[30000]}" 'BEGIN {printf "%.3f", log(b/a)/log(10)}')" 1.10
	fi
}

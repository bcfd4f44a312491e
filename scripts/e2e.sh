#!/usr/bin/env bash
# End-to-end suite: deploys real stacks on a real single-node Swarm, runs
# real jobs, reads real logs and exit codes, through the podtemplate CLI.
# Initialises the Swarm if none is active. Where no Docker daemon answers it
# says so and exits 0 (skipped).
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cases=testdata/e2e/cli
work=$(mktemp -d)
bin="$work/podtemplate"
prefix="pte2e$$"
failures=0
passes=0

cleanup() {
	for s in $(docker stack ls --format '{{.Name}}' 2>/dev/null | grep "^$prefix" || true); do
		docker stack rm "$s" >/dev/null 2>&1 || true
	done
	rm -rf "$work"
}
trap cleanup EXIT

if ! docker info >/dev/null 2>&1; then
	echo "e2e: SKIPPED: no Docker daemon answers (docker info failed)"
	exit 0
fi
if [ "$(docker info --format '{{.Swarm.LocalNodeState}}')" != "active" ]; then
	echo "e2e: initialising a single-node Swarm"
	docker swarm init --advertise-addr 127.0.0.1 >/dev/null || { echo "e2e: docker swarm init failed"; exit 1; }
fi
scripts/e2e-image.sh >/dev/null || { echo "e2e: building the test image failed"; exit 1; }
go build -o "$bin" ./cmd/podtemplate || exit 1

pass() { echo "PASS: $1"; passes=$((passes + 1)); }
fail() { echo "FAIL: $1"; failures=$((failures + 1)); }

# run_case NAME: runs the rest of the line, saving output and status.
run_case() {
	local name=$1
	shift
	echo
	echo "=== $name: $*"
	"$@" >"$work/out" 2>"$work/err"
	code=$?
	sed 's/^/  | /' "$work/out" "$work/err"
	echo "  exit $code"
}
# has PATTERN: an extended regexp in the output; "job +\\| " allows the
# padding that aligns job-name prefixes.
has() { grep -Eq -- "$1" "$work/out" "$work/err"; }

# 1. A job that succeeds and one that fails.
run_case "deploy: a job succeeds, one fails" timeout 240 "$bin" deploy -c $cases/jobs.yml "${prefix}a"
if [ "$code" -eq 1 ] && has "migrate +\\| migrating schema" && has "seed +\\| seed data is corrupt" &&
	grep -Eq "migrate +completed +0" "$work/err" && grep -Eq "seed +failed +3" "$work/err"; then
	pass "deploy reports both logs and exit codes, and fails"
else
	fail "deploy with a failing job"
fi

# 1b. A re-deploy of the unchanged stack is not a new run.
run_case "deploy again, unchanged" timeout 120 "$bin" deploy -c $cases/jobs.yml "${prefix}a"
if has "unchanged" && ! has "migrate +\\| migrating schema"; then
	pass "an unchanged re-deploy is not reported as a new run"
else
	fail "unchanged re-deploy"
fi

# 2. A job whose image does not exist.
run_case "deploy: missing image" timeout 120 "$bin" deploy -c $cases/missing.yml "${prefix}b"
if [ "$code" -eq 1 ] && grep -Eq "ghost +rejected" "$work/err" && has "No such image"; then
	pass "a missing image is rejected and reported without hanging"
else
	fail "missing image"
fi

# 3. A job that outlives its timeout.
run_case "deploy: timeout" timeout 120 "$bin" deploy -c $cases/timeout.yml "${prefix}c"
if [ "$code" -eq 1 ] && grep -Eq "slow +timed out" "$work/err" && has "slow +\\| working"; then
	pass "a job past its timeout is reported as timed out"
else
	fail "timeout"
fi

# 4. run: exit codes 0 and non-zero, nothing left behind.
run_case "run ok --env" timeout 120 "$bin" run -c $cases/run.yml --stack-prefix "$prefix" --env GREETING=overridden ok
if [ "$code" -eq 0 ] && has "ok +\\| all good" && has "GREETING=overridden"; then
	pass "run exits 0 with the job's logs and --env applied"
else
	fail "run ok"
fi
run_case "run broken" timeout 120 "$bin" run -c $cases/run.yml --stack-prefix "$prefix" broken
if [ "$code" -eq 7 ] && has "broken +\\| about to fail"; then
	pass "run exits with the job's exit code (7)"
else
	fail "run broken"
fi
run_case "run report (a job created from a template)" timeout 120 "$bin" run -c $cases/run.yml --stack-prefix "$prefix" report
if [ "$code" -eq 0 ] && has "report for monday"; then
	pass "run of a templated job"
else
	fail "run report"
fi
left=$(docker service ls --format '{{.Name}}' | grep "^$prefix-" || true)
if [ -z "$left" ]; then
	pass "run leaves no service behind"
else
	fail "run left services: $left"
fi

# 5. jobs ls / logs / prune on the stack of scenario 1.
run_case "jobs ls" "$bin" jobs ls "${prefix}a"
if [ "$code" -eq 0 ] && has "migrate" && has "seed"; then pass "jobs ls lists the jobs"; else fail "jobs ls"; fi
run_case "jobs logs" "$bin" jobs logs "${prefix}a" seed
if [ "$code" -eq 0 ] && has "seed +\\| seed data is corrupt"; then pass "jobs logs prints a job's logs"; else fail "jobs logs"; fi
run_case "jobs prune" "$bin" jobs prune "${prefix}a"
remaining=$(docker service ls --filter "label=com.docker.stack.namespace=${prefix}a" --format '{{.Name}}')
if [ "$code" -eq 0 ] && [ -z "$remaining" ]; then
	pass "jobs prune removes finished jobs"
else
	fail "jobs prune (left: $remaining)"
fi

# 6. A pod and a job in one stack.
run_case "deploy: a pod and a job" timeout 180 "$bin" deploy -c $cases/pod-and-job.yml --controller-image podtemplate-e2e:latest "${prefix}d"
labels=$(docker service inspect "${prefix}d_web" --format '{{json .Spec.TaskTemplate.ContainerSpec.Labels}}' 2>/dev/null)
if [ "$code" -eq 0 ] && grep -Eq "migrate +completed +0" "$work/err" && echo "$labels" | grep -q 'pod.component.proxy'; then
	pass "a pod and a job deploy together; the job completes, the controller carries its components"
else
	fail "pod and job (labels: $labels)"
fi
run_case "jobs prune keeps the pod" "$bin" jobs prune "${prefix}d"
if docker service inspect "${prefix}d_web" >/dev/null 2>&1 && ! docker service inspect "${prefix}d_migrate" >/dev/null 2>&1; then
	pass "jobs prune never touches a service that is not a job"
else
	fail "prune touched the pod"
fi

# 7. run --stack joins the deployed stack's network (stack of scenario 6).
run_case "run --stack (joins a deployed stack)" timeout 120 "$bin" run -c $cases/run.yml --stack-prefix "$prefix" --stack "${prefix}d" --keep ok
svc=$(docker service ls --filter "label=com.docker.stack.namespace" --format '{{.Name}}' | grep "^$prefix-ok-" | head -1)
want=$(docker network inspect "${prefix}d_default" --format '{{.Id}}' 2>/dev/null)
got=$(docker service inspect "$svc" --format '{{range .Spec.TaskTemplate.Networks}}{{.Target}} {{end}}' 2>/dev/null)
if [ "$code" -eq 0 ] && [ -n "$want" ] && echo "$got" | grep -q "$want"; then
	pass "run --stack attaches the job to the deployed stack's network"
else
	fail "run --stack (service $svc networks: $got, want $want)"
fi
[ -n "$svc" ] && docker stack rm "${svc%_ok}" >/dev/null 2>&1

# 8. Several nodes: a second daemon joins the Swarm as a worker for the
# multi-node tests (scripts/swarm-worker.sh), and leaves afterwards.
echo
echo "=== multi-node: a worker node in a network namespace (scripts/swarm-worker.sh)"
if why=$(scripts/swarm-worker.sh check 2>&1); then
	scripts/swarm-worker.sh run -- go test ./swarm -run '^TestMultiNode' -count=1 -v -timeout 15m >"$work/out" 2>&1
	code=$?
	sed 's/^/  | /' "$work/out"
	if [ "$code" -eq 0 ] && grep -q '^--- PASS: TestMultiNode' "$work/out"; then
		pass "jobs on a two-node Swarm, with the worker drained and killed"
	else
		fail "multi-node tests (exit $code)"
	fi
else
	echo "multi-node: SKIPPED: $why"
fi

# 9. Ordered deploys (x-jobs stage): their own suite, on their own images.
echo
echo "=== ordered deploys: scripts/e2e-stages.sh"
if scripts/e2e-stages.sh "$bin" 2>&1 | sed 's/^/  /'; then
	pass "ordered deploys (scripts/e2e-stages.sh)"
else
	fail "ordered deploys (scripts/e2e-stages.sh)"
fi

echo
echo "e2e: $passes passed, $failures failed"
[ "$failures" -eq 0 ]

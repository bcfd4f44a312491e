#!/usr/bin/env bash
# End-to-end suite for ordered deploys (x-jobs stage) on a real Swarm:
# a pre-deploy migration gates the rollout of an app that refuses to start
# without the migration's marker; a post-deploy smoke test fails and the
# app is rolled back (or not); an update Swarm pauses is reported, not
# waited for forever; an unchanged stack runs no staged job again.
# Usage: scripts/e2e-stages.sh [PODTEMPLATE_BINARY]. Run by scripts/e2e.sh.
# Exits 0 (skipped) where no Docker daemon answers.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/testdata/e2e/stages"
work=$(mktemp -d)
bin=${1:-}
stack="ptstages$$"
failures=0
passes=0

podstack="${stack}p"
cleanup() {
	for s in "$stack" "$podstack"; do
		docker stack rm "$s" >/dev/null 2>&1 || true
	done
	# A stack's volume outlives it (as with docker stack rm); remove it
	# once the last container using it is gone.
	for s in "$stack" "$podstack"; do
		for _ in $(seq 1 60); do
			docker volume rm "${s}_data" >/dev/null 2>&1 && break
			docker volume inspect "${s}_data" >/dev/null 2>&1 || break
			sleep 1
		done
	done
	rm -rf "$work"
}
trap cleanup EXIT

if ! docker info >/dev/null 2>&1; then
	echo "e2e-stages: SKIPPED: no Docker daemon answers (docker info failed)"
	exit 0
fi
if [ -z "$bin" ]; then
	bin="$work/podtemplate"
	(cd "$root" && go build -o "$bin" ./cmd/podtemplate) || exit 1
fi
# v1 and v2 are one binary under two tags: an update is a change of image.
"$root/scripts/e2e-image.sh" podtemplate-e2e-stages:v1 >/dev/null || { echo "e2e-stages: building the test image failed"; exit 1; }
docker tag podtemplate-e2e-stages:v1 podtemplate-e2e-stages:v2 || exit 1

pass() { echo "PASS: $1"; passes=$((passes + 1)); }
fail() { echo "FAIL: $1"; failures=$((failures + 1)); }

# deploy_case NAME VERSION [ARGS...]: deploys the stack at VERSION (the
# stack $target, default $stack).
deploy_case() {
	local name=$1 version=$2
	shift 2
	echo
	echo "=== $name: VERSION=$version podtemplate deploy $* ${target:-$stack}"
	local t0=$SECONDS
	VERSION=$version timeout 240 "$bin" deploy --resolve-image never "$@" "${target:-$stack}" >"$work/out" 2>"$work/err"
	code=$?
	elapsed=$((SECONDS - t0))
	sed 's/^/  | /' "$work/out" "$work/err"
	echo "  exit $code after ${elapsed}s"
}
has() { grep -Eq -- "$1" "$work/out" "$work/err"; }
image() { docker service inspect "${stack}_$1" --format '{{.Spec.TaskTemplate.ContainerSpec.Image}}' 2>/dev/null; }
tasks() { docker service ps -q "${stack}_$1" 2>/dev/null | wc -l; }
# line NUMBER of the first match of PATTERN in the status output.
line() { grep -En -- "$1" "$work/err" | head -1 | cut -d: -f1; }

# 1. The migration runs to completion before the app is created; the app
# finds its marker on its first start.
deploy_case "ordered deploy, v1" v1 -c stack.yml
migrated=$(line "job migrate: completed")
created=$(line "Creating service ${stack}_app")
applogs=$(docker service logs --raw "${stack}_app" 2>&1)
if [ "$code" -eq 0 ] && [ -n "$migrated" ] && [ -n "$created" ] && [ "$migrated" -lt "$created" ] &&
	has "smoke(@[^ ]+)? +\\| smoke test passed" && echo "$applogs" | grep -q "marker /data/migrated-v1 found" &&
	! echo "$applogs" | grep -q missing && [ "$(tasks app)" -eq 1 ]; then
	pass "pre-deploy job completes before the app starts; the app never saw a missing marker (1 task)"
else
	fail "ordered deploy v1 (migrated at line $migrated, app created at line $created, app tasks $(tasks app), app logs: $applogs)"
fi

echo
echo "=== jobs ls $stack"
"$bin" jobs ls "$stack" | tee "$work/ls" | sed 's/^/  | /'
if grep -Eq "^migrate +restart-none +pre-deploy +completed" "$work/ls" && grep -Eq "^smoke +restart-none +post-deploy +completed" "$work/ls"; then
	pass "jobs ls shows each job's stage"
else
	fail "jobs ls stage column"
fi

# 2. Redeploying the unchanged stack runs no staged job again.
deploy_case "unchanged redeploy" v1 -c stack.yml
if [ "$code" -eq 0 ] && has "migrate +completed \\(unchanged\\)" && has "smoke +completed \\(unchanged\\)" &&
	! has "migrate(@[^ ]+)? +\\| migrating" && ! has "smoke(@[^ ]+)? +\\| smoke test" && [ "$(tasks migrate)" -eq 1 ] && [ "$(tasks smoke)" -eq 1 ]; then
	pass "an unchanged redeploy runs no staged job again"
else
	fail "unchanged redeploy (migrate tasks $(tasks migrate), smoke tasks $(tasks smoke))"
fi

# 2b. deploy --dry-run shows the phases and which staged jobs would run.
echo
echo "=== deploy --dry-run, v1 and v2"
VERSION=v1 "$bin" deploy --dry-run -c stack.yml "$stack" >"$work/out" 2>"$work/err"
code1=$?
cp "$work/out" "$work/dry1"
VERSION=v2 "$bin" deploy --dry-run -c stack.yml --rollback-on-failure "$stack" >"$work/out" 2>"$work/err"
code2=$?
sed 's/^/  | /' "$work/dry1" "$work/out" "$work/err"
if [ "$code1" -eq 0 ] && [ "$code2" -eq 0 ] && grep -Eq "^  1\. pre-deploy .*: migrate \(unchanged: not run again\)" "$work/dry1" &&
	grep -Eq "^  3\. post-deploy .*: smoke \(unchanged: not run again\)" "$work/dry1" &&
	grep -Eq "^  1\. pre-deploy .*: migrate \(changed: runs\)" "$work/out" && grep -q "rolled back, those it created removed" "$work/out" &&
	has "dry run: nothing was deployed" && [ "$(image app)" = "podtemplate-e2e-stages:v1" ]; then
	pass "deploy --dry-run shows the phases and which staged jobs would run, and deploys nothing"
else
	fail "deploy --dry-run phases"
fi

# 3. v2 with a failing migration: the deploy stops, the app stays on v1.
deploy_case "v2, failing migration" v2 -c stack.yml -c failing-migration.yml
if [ "$code" -ne 0 ] && has "pre-deploy +failed +job migrate failed" && has "migrate(@[^ ]+)? +\\| duplicate column" &&
	! has "Updating service ${stack}_app" && [ "$(image app)" = "podtemplate-e2e-stages:v1" ] && [ "$(tasks app)" -eq 1 ]; then
	pass "a failing pre-deploy job stops the deploy: exit $code, the app still runs v1"
else
	fail "failing migration (app image $(image app), app tasks $(tasks app))"
fi

# 4. v2 with a failing smoke test and --rollback-on-failure: back on v1.
deploy_case "v2, failing post-deploy job, --rollback-on-failure" v2 -c stack.yml -c failing-smoke.yml --rollback-on-failure
if [ "$code" -ne 0 ] && has "post-deploy +failed +job smoke failed" && has "smoke(@[^ ]+)? +\\| /health returned 500" &&
	has "app +rollback +rolled back to podtemplate-e2e-stages:v1" && [ "$(image app)" = "podtemplate-e2e-stages:v1" ]; then
	pass "a failing post-deploy job with --rollback-on-failure: exit $code, the app is back on v1"
else
	fail "rollback on failure (app image $(image app))"
fi

# 5. The same without the flag (and --rerun-unchanged, so the smoke test
# runs again): the app stays on v2.
deploy_case "v2, failing post-deploy job, no rollback" v2 -c stack.yml -c failing-smoke.yml --rerun-unchanged
if [ "$code" -ne 0 ] && has "post-deploy +failed" && has "rollback +skipped +not requested" && has "smoke(@[^ ]+)? +\\| /health returned 500" &&
	[ "$(image app)" = "podtemplate-e2e-stages:v2" ]; then
	pass "a failing post-deploy job without --rollback-on-failure: exit $code, the app stays on v2"
else
	fail "no rollback (app image $(image app))"
fi

# 6. An update Swarm cannot converge: the new task exits at once and
# update_config.failure_action is pause. Reported, not waited for, and
# rolled back from the paused state with --rollback-on-failure.
args() { docker service inspect "${stack}_$1" --format '{{json .Spec.TaskTemplate.ContainerSpec.Args}}' 2>/dev/null; }
deploy_case "v2, an app that cannot start, --rollback-on-failure" v2 -c stack.yml -c crashing-app.yml --update-timeout 60s --rollback-on-failure
if [ "$code" -ne 0 ] && has "deploy +failed +app paused" && has "Swarm paused the update" && [ "$elapsed" -lt 90 ] &&
	has "rollback +ok +app rolled back" && args app | grep -q serve; then
	pass "an update Swarm paused is reported after ${elapsed}s and rolled back to the working v2"
else
	fail "non-converging update with rollback (exit $code after ${elapsed}s, app args $(args app))"
fi

# 7. The same without the flag: the update stays paused.
deploy_case "v2, an app that cannot start" v2 -c stack.yml -c crashing-app.yml --update-timeout 60s
if [ "$code" -ne 0 ] && has "deploy +failed +app paused" && [ "$elapsed" -lt 90 ] && args app | grep -q "config invalid"; then
	pass "an update Swarm paused is reported after ${elapsed}s, not waited for"
else
	fail "non-converging update (exit $code after ${elapsed}s, app args $(args app))"
fi

# 8. Deploying the same stack again changes nothing, but the service's
# update is still paused (its tasks crash): not a success either.
deploy_case "the same again" v2 -c stack.yml -c crashing-app.yml --update-timeout 60s
if [ "$code" -ne 0 ] && has "app +unchanged +(paused|failing) +not changed by this deploy" && [ "$elapsed" -lt 60 ]; then
	pass "a service left paused by an earlier deploy fails the next one"
else
	fail "paused service redeployed unchanged (exit $code after ${elapsed}s)"
fi

# 9. A staged job that is a pod, with podlike's real controller: the image
# rycus86/podlike:0.5.1 or $PODTEMPLATE_E2E_PODLIKE, when it is here and
# has the -ipc flag that podtemplate's default controller command uses
# (podlike added it after 0.5.1).
controller=${PODTEMPLATE_E2E_PODLIKE:-rycus86/podlike:0.5.1}
echo
if ! docker image inspect "$controller" >/dev/null 2>&1; then
	echo "pod job: SKIPPED: the podlike controller image $controller is not here (nothing can be pulled; name one with PODTEMPLATE_E2E_PODLIKE)"
elif [[ "$(docker run --rm "$controller" -ipc=false -h 2>&1)" == *"flag provided but not defined: -ipc"* ]]; then
	echo "pod job: SKIPPED: the controller image $controller has no -ipc flag (podlike added it after 0.5.1); name one with PODTEMPLATE_E2E_PODLIKE"
else
	target=$podstack deploy_case "a pre-deploy pod job" v1 -c pod-job.yml --controller-image "$controller"
	applogs=$(docker service logs --raw "${podstack}_app" 2>&1)
	if [ "$code" -eq 0 ] && has "migrate(@[^ ]+)? +\\| .*wrote /data/pod-migrated-v1" && has "Exited: app Status: 0" &&
		echo "$applogs" | grep -q "marker /data/pod-migrated-v1 found" && ! echo "$applogs" | grep -q missing; then
		pass "a pre-deploy pod job gates the rollout like any job"
	else
		fail "pre-deploy pod job (app logs: $applogs)"
	fi
	MIGRATE_EXIT=4 target=$podstack deploy_case "a failing pre-deploy pod job" v2 -c pod-job.yml --controller-image "$controller"
	if [ "$code" -ne 0 ] && has "migrate +failed +4 .*pod component app exited with code 4" && has "pre-deploy +failed" &&
		[ "$(docker service inspect "${podstack}_app" --format '{{.Spec.TaskTemplate.ContainerSpec.Image}}')" = "podtemplate-e2e-stages:v1" ]; then
		pass "a pre-deploy pod job whose main component fails stops the deploy"
	else
		fail "failing pre-deploy pod job"
	fi
fi

echo
echo "e2e-stages: $passes passed, $failures failed"
[ "$failures" -eq 0 ]

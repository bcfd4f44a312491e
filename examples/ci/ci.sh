#!/bin/sh
# A CI step for any CI system: validate the stack (any problem fails the
# build), render it to a file to keep as an artifact, and deploy it when the
# branch being built is main.
#
# Usage: BRANCH=main STACK=shop examples/ci/ci.sh
#
# Environment:
#   BRANCH       the branch being built; the stack is deployed only when it is
#                "main" (set it from your CI: $CI_COMMIT_BRANCH on GitLab,
#                $BRANCH_NAME on Jenkins, $GITHUB_REF_NAME on GitHub Actions)
#   STACK        the stack name to deploy (required to deploy)
#   STACK_FILE   the stack file (default: stack.yml)
#   OUT          where the rendered stack goes (default: rendered/stack.yml)
#   PODTEMPLATE  the podtemplate binary (default: podtemplate from PATH)
#   DOCKER_HOST or DOCKER_CONTEXT
#                the Swarm manager to deploy to, as for the docker CLI
#                (e.g. ssh://deploy@swarm-manager.example.com)
# Extra arguments are passed to `podtemplate deploy` (e.g. --with-registry-auth).
set -eu

stack_file=${STACK_FILE:-stack.yml}
out=${OUT:-rendered/stack.yml}
pt=${PODTEMPLATE:-podtemplate}
branch=${BRANCH:-}

"$pt" version

echo "--- validate $stack_file"
# Reports every problem it finds and exits 1: set -e fails the build.
"$pt" validate -c "$stack_file"

echo "--- render $stack_file to $out"
"$pt" render -c "$stack_file" -o "$out"

if [ "$branch" != main ]; then
	echo "--- not deploying: branch '$branch' is not main"
	exit 0
fi
if [ -z "${STACK:-}" ]; then
	echo "error: set STACK to the stack name to deploy" >&2
	exit 2
fi
echo "--- deploy $STACK"
# Waits for the stack's jobs and exits non-zero if one fails or times out.
"$pt" deploy -c "$stack_file" "$@" "$STACK"

#!/usr/bin/env bash
# The main job on the bundled example platform: validate, render --check, a pull-request check between two
# commits of a throw-away git copy, then upgrade --check and the inventory. Needs `pledge` on PATH (see README
# quick start).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
platform="$here/platform"

echo "== pledge validate (examples/platform)"
pledge validate --repo "$platform"

echo "== pledge render --check (committed output is in sync)"
pledge render --check --repo "$platform"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r "$platform" "$work/platform"
cd "$work/platform"
git init -q -b main
git -c user.name=demo -c user.email=demo@example.com add -A
git -c user.name=demo -c user.email=demo@example.com commit -q -m "platform"
git checkout -q -b add-reports-db
mkdir -p requests/staging/payments
cat > requests/staging/payments/reports-db.yaml <<'YAML'
apiVersion: pledge.dev/v2
kind: Postgres
metadata:
  name: reports-db
  team: payments
  labels:
    cost-centre: cc-1042
spec:
  instances: 2
  storage:
    size: 20Gi
  version: 16
  backup:
    method: volumeSnapshot
YAML
git -c user.name=demo -c user.email=demo@example.com add -A
git -c user.name=demo -c user.email=demo@example.com commit -q -m "payments: a reports database in staging"

echo "== pledge check --base main --head add-reports-db (what the bot says on the pull request)"
pledge check --base main --head add-reports-db

echo "== pledge upgrade --check (every request is on its offering's current version)"
pledge upgrade --check

echo "== pledge inventory (offering versions, lifecycle, age from git history)"
pledge inventory

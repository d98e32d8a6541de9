#!/usr/bin/env bash
# The nightly staging refresh for cron: read an env file, run `sanitizer run --config`, keep its exit code.
#
#   refresh.sh [ENV_FILE]            refresh staging              (ENV_FILE default: /etc/sanitizer/refresh.env)
#   refresh.sh --status [ENV_FILE]   is staging fresh? `sanitizer status --max-age` (exit 1: stale)
#
# Exit codes are sanitizer's (sanitizer/cli.py): 0 success; 1 findings (validation failed, uncovered
# columns), staging untouched; 2 usage or configuration error, also an unreadable or malformed env file, a
# missing variable or no sanitizer binary; 3 runtime failure, staging untouched, also another refresh
# still running or the run killed by a signal. Whenever it is not 0, staging keeps its last good data.
#
# ENV_FILE holds KEY=value lines (deploy/refresh.env.example); the same file serves systemd's
# EnvironmentFile=, so it is parsed here, not sourced: no shell code runs from it.
set -euo pipefail

mode=run
if [[ "${1:-}" == "--status" ]]; then
  mode=status
  shift
fi
env_file="${1:-/etc/sanitizer/refresh.env}"

log() {  # log LEVEL MESSAGE...: one line on stderr, JSON when SANITIZER_LOG_FORMAT=json (as sanitizer's own)
  local level=$1 msg ts
  shift
  msg="$*"
  ts="$(date -u +%Y-%m-%dT%H:%M:%S.%3N+00:00)"
  if [[ "${SANITIZER_LOG_FORMAT:-text}" == "json" ]]; then
    msg="${msg//\\/\\\\}"
    msg="${msg//\"/\\\"}"
    printf '{"time": "%s", "level": "%s", "event": "refresh.sh", "mode": "%s", "message": "%s"}\n' \
      "$ts" "$level" "$mode" "$msg" >&2
  else
    printf '%s refresh.sh %s %s: %s\n' "$ts" "$mode" "$level" "$msg" >&2
  fi
}

if [[ ! -r "$env_file" ]]; then
  log error "cannot read the env file $env_file"
  exit 2
fi
lineno=0
while IFS= read -r line || [[ -n "$line" ]]; do
  lineno=$((lineno + 1))
  [[ "$line" =~ ^[[:space:]]*(#|$) ]] && continue
  if [[ ! "$line" =~ ^([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]]; then
    log error "$env_file:$lineno: not a KEY=value line"  # the line itself may hold a password: not printed
    exit 2
  fi
  name="${BASH_REMATCH[1]}"
  value="${BASH_REMATCH[2]}"
  if [[ "$value" =~ ^\"(.*)\"$ || "$value" =~ ^\'(.*)\'$ ]]; then  # quotes, as systemd strips them
    value="${BASH_REMATCH[1]}"
  fi
  export "$name=$value"
done <"$env_file"

bin="${SANITIZER_BIN:-sanitizer}"
if ! command -v "$bin" >/dev/null; then
  log error "no $bin on PATH ($PATH); install sanitizer or set SANITIZER_BIN in $env_file"
  exit 2
fi

if [[ "$mode" == "status" ]]; then
  if [[ -z "${STAGING_DB_URL:-}" ]]; then
    log error "$env_file: STAGING_DB_URL is not set"
    exit 2
  fi
  rc=0
  "$bin" status --target "$STAGING_DB_URL" --max-age "${SANITIZER_MAX_AGE:-26h}" || rc=$?
  case "$rc" in
    0) log info "staging is fresh" ;;
    1) log error "staging is stale: no good refresh within ${SANITIZER_MAX_AGE:-26h}" ;;
    *) log error "status check failed (exit $rc)" ;;
  esac
  exit "$rc"
fi

config="${SANITIZER_CONFIG:-}"
if [[ -z "$config" ]]; then
  log error "$env_file: SANITIZER_CONFIG is not set (the run's config file, e.g. /etc/sanitizer/staging.yaml)"
  exit 2
fi

# One refresh at a time: a run started while the last one still loads would only queue behind its lock.
lock="${REFRESH_LOCK_FILE:-/var/lib/sanitizer/refresh.lock}"
if ! exec 9>>"$lock"; then
  log error "cannot open the lock file $lock; set REFRESH_LOCK_FILE to a writable path"
  exit 2
fi
if ! flock --nonblock 9; then
  log error "another refresh holds $lock; this one did not start, staging keeps its last good data"
  exit 3
fi

log info "refresh starting: $bin run --config $config"
rc=0
"$bin" run --config "$config" || rc=$?
case "$rc" in
  0) log info "refresh done: staging holds the new sanitized data" ;;
  1) log error "findings (exit 1): staging untouched, keeps its last good data; read the run's report" ;;
  2) log error "configuration error (exit 2): staging untouched; fix the named file, option or column" ;;
  3) log error "runtime failure (exit 3): staging untouched, keeps its last good data" ;;
  *)
    log error "sanitizer ended with status $rc (killed by a signal?); staging keeps its last good data"
    rc=3
    ;;
esac
exit "$rc"

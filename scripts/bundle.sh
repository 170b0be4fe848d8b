# Sourced by scripts/test and scripts/test-desktop: the release .deb, compiled in the background
# at the lowest CPU priority while the tests run. The tests mostly wait (on sockets, timers,
# PostgreSQL), so the release build takes the cores they leave idle, and yields them whenever a
# test needs them. Needs scripts/desktop-deps.sh (tauri_cli) and scripts/steps.sh.
#   bundle_start   starts it (after the UI is built: ui/dist is used as it is, not built again,
#                  so the debug app built from it stays up to date)
#   bundle_wait    waits for it as a step of its own and prints the bundle's size

bundle_start() {
  _bundle_log=$(mktemp /tmp/rapport-bundle.XXXXXX)
  _bundle_t0=$(date +%s)
  (
    renice -n 19 "$BASHPID" >/dev/null
    tauri_cli build --bundles deb --config '{"build":{"beforeBuildCommand":""}}'
  ) >"$_bundle_log" 2>&1 &
  _bundle_pid=$!
  at_exit bundle_stop
  echo "the release .deb is being built in the background (log: $_bundle_log)"
}

# At exit (a failed test): the build is not left running.
bundle_stop() {
  [ -n "${_bundle_pid:-}" ] || return 0
  kill "$_bundle_pid" 2>/dev/null || true
  _bundle_pid=""
}

bundle_wait() {
  step "bundle: .deb (release; the wait after the tests)"
  local rc=0
  wait "$_bundle_pid" || rc=$?
  _bundle_pid=""
  if [ "$rc" != 0 ]; then
    cat "$_bundle_log"
    echo "the release bundle failed (exit $rc)" >&2
    return "$rc"
  fi
  tail -n 6 "$_bundle_log"
  echo "release build and bundle: $(( $(date +%s) - _bundle_t0 ))s since it started"
  local deb
  deb=$(ls -t "${CARGO_TARGET_DIR:-target}"/release/bundle/deb/*.deb | head -1)
  echo "$deb: $(du -h "$deb" | cut -f1) ($(stat -c %s "$deb") bytes)"
}

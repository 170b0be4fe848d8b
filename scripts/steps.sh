# Sourced by the scripts: `step NAME` starts a step and prints how long the previous one took
# (`step_end` ends one without starting the next); at exit, a table of every step's time and the
# total (CI must stay within its time budget). `at_exit CMD…` runs a clean-up at exit, whatever
# the exit status, before the table.

STEPS_T0=${STEPS_T0:-$(date +%s)}
export STEPS_T0
_step_name=""
_step_start=0
_step_log=()
_at_exit=()

at_exit() {
  _at_exit+=("$*")
}

step_end() {
  [ -n "$_step_name" ] || return 0
  local now; now=$(date +%s)
  local took=$((now - _step_start))
  _step_log+=("$(printf '%6ss  %s' "$took" "$_step_name")")
  printf '<== %s: %ss\n' "$_step_name" "$took"
  _step_name=""
}

step() {
  step_end
  _step_name="$*"
  _step_start=$(date +%s)
  printf '\n==> %s   (at %ss)\n' "$*" "$(( _step_start - STEPS_T0 ))"
}

_steps_summary() {
  local rc=$?
  local cleanup
  for cleanup in "${_at_exit[@]}"; do
    eval "$cleanup" || true
  done
  step_end
  if [ ${#_step_log[@]} -gt 0 ]; then
    printf '\n---- step times (%s) ----\n' "$(basename "$0")"
    printf '%s\n' "${_step_log[@]}"
    printf '%6ss  total since the first step (exit %s)\n' "$(( $(date +%s) - STEPS_T0 ))" "$rc"
  fi
  return $rc
}
trap _steps_summary EXIT

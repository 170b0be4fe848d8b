# Sourced by scripts/test and tests/api-fuzz/run: `api_fuzz_deps` puts Schemathesis (pinned in
# tests/api-fuzz/requirements.txt) into tests/api-fuzz/.venv, again only when the pins changed.

api_fuzz_deps() {
  local venv=tests/api-fuzz/.venv
  if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
  if [ ! -e "$venv/.installed" ] || [ tests/api-fuzz/requirements.txt -nt "$venv/.installed" ]; then
    "$venv/bin/pip" install -q -r tests/api-fuzz/requirements.txt
    touch "$venv/.installed"
  fi
}

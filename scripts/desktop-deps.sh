# Sourced by scripts/run and scripts/test-desktop: installs what the desktop app needs to build
# and (with `desktop_deps test`) to be tested. Debian/Ubuntu: apt-get when root, else prints the
# exact command to run.

desktop_deps() {
  local want=(libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev build-essential pkg-config file
    fonts-noto-color-emoji)  # reactions and the picker draw emoji with the system's font
  if [ "${1:-}" = test ]; then
    want+=(xvfb xauth imagemagick webkit2gtk-driver dunst dbus-x11 xdotool x11-utils python3-venv)
  fi
  local missing=()
  for pkg in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    if ! command -v apt-get >/dev/null; then
      echo "Install these system libraries (Debian names): ${missing[*]}" >&2
      return 1
    fi
    local cmd="apt-get install -y --no-install-recommends ${missing[*]}"
    if [ "$(id -u)" = 0 ]; then
      echo "installing: ${missing[*]}"
      DEBIAN_FRONTEND=noninteractive apt-get update -qq
      DEBIAN_FRONTEND=noninteractive $cmd >/dev/null
    else
      echo "Rapport's desktop app needs system libraries. Run:" >&2
      echo "  sudo apt-get update && sudo $cmd" >&2
      return 1
    fi
  fi
  command -v node >/dev/null || { echo "Node.js 20 or newer is needed (https://nodejs.org)" >&2; return 1; }
}

# npm packages of the web UI (Vite, Svelte, the Tauri CLI), when the lock file changed.
ui_deps() {
  if [ ! -d ui/node_modules ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
    # `npm install`, not `npm ci`: npm 11 records no lock entries for other platforms' optional
    # binaries here and `npm ci` then refuses the lock; `install` follows it all the same.
    (cd ui && npm install --no-audit --no-fund)
  fi
}

# What the end-to-end tests drive the app with: tauri-driver (WebDriver for Tauri) and the
# Python test runner with selenium, in tests/.venv.
e2e_deps() {
  export PATH="$HOME/.cargo/bin:$PATH"
  if ! command -v tauri-driver >/dev/null; then
    cargo install tauri-driver --version '^2' --locked
  fi
  if [ ! -x tests/.venv/bin/python ]; then python3 -m venv tests/.venv; fi
  tests/.venv/bin/pip install -q -r tests/requirements.txt
}

tauri_cli() {
  ui/node_modules/.bin/tauri "$@"
}

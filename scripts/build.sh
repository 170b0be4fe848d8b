# Sourced by scripts/test, scripts/test-desktop and scripts/run: the one debug build of the whole
# workspace (every crate, test and binary, the desktop app included) that the tests, the
# end-to-end tests and the demo all use.
#
# clippy-driver runs as the compiler of the workspace's own crates (what `cargo clippy` does,
# but producing real artifacts), so one compilation both lints and builds: a separate
# `cargo clippy` would compile every crate a second time in check mode. Every cargo command of
# the scripts runs with the same environment, so none of them rebuilds what another built.

lint_env() {
  local driver
  driver=$(command -v clippy-driver || echo "$(rustc --print sysroot)/bin/clippy-driver")
  RUSTC_WORKSPACE_WRAPPER="$driver" CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__" "$@"
}

# The app embeds the built UI, so ui/dist must exist before the workspace compiles.
build_ui() {
  (cd ui && npm run build --silent)
}

build_all() {
  lint_env cargo build --workspace --all-targets --locked
}

# What scripts/run needs, in one cargo invocation (so the crates they share are built once).
build_app() {
  cargo build -p rapport-hub -p rapport-cli -p rapport-desktop --locked
}

# Sourced by scripts/check-deps.sh and scripts/audit.sh: installs the pinned
# cargo-deny into the tools cache if it is missing (once; about 4 minutes of
# compiling on 2 cores) and puts it on PATH. Expects the tools env and log().
CARGO_DENY_VERSION=0.20.2          # needs rustc >= 1.88
TOOLS_ROOT="$INCX_CACHE/cargo-tools"
DENY="$TOOLS_ROOT/bin/cargo-deny"

if ! { [ -x "$DENY" ] && "$DENY" --version 2>/dev/null | grep -qx "cargo-deny $CARGO_DENY_VERSION"; }; then
  log "installing cargo-deny $CARGO_DENY_VERSION into $TOOLS_ROOT (once; compiles for a few minutes)"
  cargo install cargo-deny --locked --version "$CARGO_DENY_VERSION" --root "$TOOLS_ROOT" >&2
else
  log "cargo-deny $CARGO_DENY_VERSION already installed"
fi
export PATH="$TOOLS_ROOT/bin:$PATH"

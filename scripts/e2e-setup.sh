#!/usr/bin/env bash
# Installs what the workbench tests need, outside the extension's own dependencies:
# code-server 4.96.4 (a real VS Code 1.96.4 workbench served to a browser) and the Debian
# packages it and the browser need. Idempotent: does nothing when the install is complete.
#
#   bash scripts/e2e-setup.sh          # prints the code-server folder on its last line
#
# The folder is $RINGSIDE_E2E_HOME (default ~/.cache/ringside-e2e). Four things stop a plain
# `npm install code-server` on these machines; each has its fix below (see the e2e notes).
set -euo pipefail

CS_VERSION=4.96.4
PROXY_AGENT_VERSION=0.27.0
RG_ASSET=ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz
RG_PKG_VERSION=1.15.9

home="${RINGSIDE_E2E_HOME:-$HOME/.cache/ringside-e2e}"
root="$home/code-server-$CS_VERSION"
cs="$root/node_modules/code-server"
stamp="$root/.ready"

if [[ -f "$stamp" && -f "$cs/out/node/entry.js" ]]; then
  echo "$cs"
  exit 0
fi

log() { echo "e2e-setup: $*" >&2; }

# Debian packages: the browser, Kerberos headers (the kerberos native module) and ripgrep.
need=()
command -v chromium >/dev/null || need+=(chromium)
command -v rg >/dev/null || need+=(ripgrep)
dpkg -s libkrb5-dev >/dev/null 2>&1 || need+=(libkrb5-dev)
for tool in g++ make python3; do command -v "$tool" >/dev/null || need+=("$tool"); done
if ((${#need[@]})); then
  log "installing Debian packages: ${need[*]}"
  if [[ $(id -u) -ne 0 ]]; then log "not root: install them yourself: apt-get install ${need[*]}"; exit 1; fi
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >&2
fi

mkdir -p "$root" "$home/tmp"
export TMPDIR="$home/tmp"
# Running as root: code-server's postinstall insists on this (npm 11 has no --unsafe-perm flag).
export npm_config_unsafe_perm=true
# Native modules build against the installed Node's headers.
export npm_config_nodedir="${npm_config_nodedir:-/usr}"
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false

cd "$root"
[[ -f package.json ]] || echo '{ "name": "ringside-e2e-host", "private": true }' > package.json

# 1. Fetch code-server without running any install script.
if [[ ! -f "$cs/package.json" ]]; then
  log "fetching code-server@$CS_VERSION"
  npm install "code-server@$CS_VERSION" --ignore-scripts >&2
fi

# 2. Its VS Code shrinkwrap resolves @vscode/proxy-agent to a git URL, which cannot be fetched
#    here: point it at the registry tarball of the same version (same integrity hash).
shrink="$cs/lib/vscode/npm-shrinkwrap.json"
tarball="$(npm view "@vscode/proxy-agent@$PROXY_AGENT_VERSION" dist.tarball 2>/dev/null | tail -1)"
[[ -n "$tarball" ]] || { log "cannot look up @vscode/proxy-agent@$PROXY_AGENT_VERSION"; exit 1; }
SHRINK="$shrink" TARBALL="$tarball" node -e '
  const fs = require("fs");
  const f = process.env.SHRINK;
  const j = JSON.parse(fs.readFileSync(f, "utf8"));
  const e = j.packages && j.packages["node_modules/@vscode/proxy-agent"];
  if (e && e.resolved !== process.env.TARBALL) { e.resolved = process.env.TARBALL; fs.writeFileSync(f, JSON.stringify(j, null, 2) + "\n"); }
'

# 3. @vscode/ripgrep's postinstall downloads rg; seed its download cache with Debian's rg instead.
rgcache="$TMPDIR/vscode-ripgrep-cache-$RG_PKG_VERSION"
if [[ ! -f "$rgcache/$RG_ASSET" ]]; then
  mkdir -p "$rgcache/stage"
  cp "$(command -v rg)" "$rgcache/stage/rg"
  tar czf "$rgcache/$RG_ASSET" -C "$rgcache/stage" rg
fi

# 4. Run the skipped install scripts: code-server's postinstall installs VS Code's own modules
#    (node-pty, spdlog, kerberos... built from source); argon2 builds its password hasher.
log "building code-server's modules (a few minutes the first time)"
npm rebuild argon2 code-server >&2

[[ -f "$cs/out/node/entry.js" ]] || { log "code-server is incomplete: $cs/out/node/entry.js is missing"; exit 1; }
[[ -e "$cs/lib/vscode/node_modules/@vscode/ripgrep/bin/rg" ]] || { log "ripgrep was not placed"; exit 1; }
date -u +%FT%TZ > "$stamp"
echo "$cs"

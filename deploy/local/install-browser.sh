#!/usr/bin/env bash
# Debian's chromium (and CJK fonts, so the page's Chinese renders) for the assessment page's
# browser test. Idempotent: does nothing when /usr/bin/chromium is there already.
# Playwright drives this browser through executable_path; `playwright install` is not used.
set -euo pipefail

if [[ -x /usr/bin/chromium ]]; then
  echo "[install-browser] /usr/bin/chromium is installed" >&2
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "[install-browser] run as root (or install sudo)" >&2; exit 1; }
  SUDO="sudo"
fi

echo "[install-browser] installing chromium and fonts-noto-cjk with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends chromium fonts-noto-cjk
/usr/bin/chromium --version >&2

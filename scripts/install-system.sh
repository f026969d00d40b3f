#!/usr/bin/env bash
# Installs the Debian packages the stack needs, only those missing. Idempotent; needs root.
# Asterisk comes from Debian bullseye (bookworm ships none), pinned low so nothing else does.
set -euo pipefail

need=()
command -v asterisk >/dev/null 2>&1 || need+=(asterisk)
command -v espeak-ng >/dev/null 2>&1 || need+=(espeak-ng)
command -v sox >/dev/null 2>&1 || need+=(sox)
[ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# Chinese glyphs for the console, reports and dispatch slips rendered in Chromium.
[ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || need+=(fonts-wqy-microhei)
[ "${#need[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-system: missing ${need[*]}; run as root (sudo $0)" >&2
  exit 1
fi

if [[ " ${need[*]} " == *" asterisk "* ]] && [ ! -f /etc/apt/sources.list.d/bullseye.list ]; then
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bullseye main" \
    > /etc/apt/sources.list.d/bullseye.list
  printf 'Package: *\nPin: release n=bullseye\nPin-Priority: 100\n' > /etc/apt/preferences.d/bullseye-low
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
pkgs=()
for p in "${need[@]}"; do
  case "$p" in
    asterisk) pkgs+=(asterisk asterisk-modules) ;;
    espeak-ng) pkgs+=(espeak-ng espeak-ng-data) ;;
    sox) pkgs+=(sox libsox-fmt-base) ;;
    postgresql) pkgs+=(postgresql) ;;
    chromium) pkgs+=(chromium) ;;
    fonts-wqy-microhei) pkgs+=(fonts-wqy-microhei) ;;
  esac
done
apt-get install -y -qq --no-install-recommends "${pkgs[@]}"
# The package starts a system Asterisk and PostgreSQL; the stack runs its own with private config.
if command -v systemctl >/dev/null 2>&1; then systemctl disable --now asterisk postgresql >/dev/null 2>&1 || true; fi
service asterisk stop >/dev/null 2>&1 || true
service postgresql stop >/dev/null 2>&1 || true

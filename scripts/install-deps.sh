#!/usr/bin/env bash
# Installs the system packages Sidetap builds and tests with, when any is missing.
# Debian/Ubuntu; needs root (or sudo). Swift itself must already be installed.
set -euo pipefail
# openssl and python3: the control-channel tests make certificates and hold real TCP connections.
# libvirt-dev: the headers guest sources are built with, and (through its dependency libvirt0)
# the library they load at run time to look domains up; its test driver serves the tests.
# libnftables-dev: the same for nftables blocks, sent in-process through libnftables1 (after the
# privilege drop no child process could get the capability to run nft).
# systemd: systemd-analyze verifies the unit in dist/systemd (no running systemd needed);
# make: `make install` and its test.
# tmux: the `sidetap top` test drives the live view in a tmux pane.
packages=(libpcap-dev libvirt-dev libnftables-dev pkg-config gcc tcpdump tshark iproute2 iputils-ping nftables openssl python3 systemd make tmux)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing: ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

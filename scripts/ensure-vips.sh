#!/usr/bin/env bash
# Makes sure the binary can be built and run with libvips (storage/imaging resizes photos
# through cgo): libvips >= 8.10 with its headers and pkg-config file, libjpeg-turbo's
# headers, a C compiler, and a libvips that loads HEIC (iPhone photos) through libheif
# with the libde265 decoder.
#
#   scripts/ensure-vips.sh
#
# When something is missing and this runs as root on a machine with apt-get (CI, a
# fresh Debian or Ubuntu box, the Docker build stage), it installs the Debian packages
# and says so; otherwise it exits non-zero with what to install.
# FIELDOPS_NO_INSTALL=1 only checks.
set -euo pipefail

log() { echo "ensure-vips: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

MIN_VERSION=8.10 # govips v2 refuses older

# problems lists what is missing (empty when all is well).
problems=()
check() {
	problems=()
	if ! command -v pkg-config >/dev/null 2>&1; then
		problems+=("pkg-config not found (cgo finds libvips through it)")
	elif ! pkg-config --exists vips; then
		problems+=("libvips headers not found (pkg-config vips): the libvips-dev package")
	elif ! pkg-config --atleast-version="$MIN_VERSION" vips; then
		problems+=("libvips $(pkg-config --modversion vips) is older than $MIN_VERSION")
	elif ! vips_has_heif; then
		problems+=("libvips $(pkg-config --modversion vips) cannot load HEIC (built without libheif)")
	fi
	# JPEG derivatives go straight through libjpeg-turbo (storage/imaging/jpegfit.c).
	if ! echo '#include <stdio.h>
#include <jpeglib.h>' | "${CC:-gcc}" -E - >/dev/null 2>&1; then
		problems+=("libjpeg headers not found (jpeglib.h): the libjpeg-dev package")
	fi
	if ! command -v "${CC:-gcc}" >/dev/null 2>&1; then
		problems+=("no C compiler (${CC:-gcc}) for cgo")
	fi
	# (grep reads all its input: with -q it would stop early, and pipefail would
	# report the writer's SIGPIPE as a failure.)
	if ! "$(command -v ldconfig || echo /sbin/ldconfig)" -p 2>/dev/null | grep 'libde265\.so' >/dev/null; then
		problems+=("libde265 (the HEVC decoder libheif uses for HEIC) not found")
	fi
}

# vips_has_heif asks the vips command when it is installed (libvips-tools); otherwise it
# looks for libheif in the heif module (libvips >= 8.13 loads HEIC from
# vips-modules-X.Y/vips-heif.so) or in libvips itself (older builds).
vips_has_heif() {
	if command -v vips >/dev/null 2>&1; then
		vips -l 2>/dev/null | grep heifload >/dev/null
		return
	fi
	local libdir lib
	libdir=$(pkg-config --variable=libdir vips)
	for lib in "$libdir"/vips-modules-*/vips-heif.so "$libdir"/libvips.so.42; do
		[[ -e "$lib" ]] || continue
		if ldd "$lib" 2>/dev/null | grep 'libheif\.so' >/dev/null; then
			return 0
		fi
	done
	return 1
}

report() {
	local p
	for p in "${problems[@]}"; do
		log "  - $p"
	done
}

check
if ((${#problems[@]} == 0)); then
	log "libvips $(pkg-config --modversion vips) with HEIC support is installed"
	exit 0
fi

log "missing:"
report
install_hint="apt-get update && apt-get install -y --no-install-recommends libvips-dev libjpeg-dev pkg-config gcc libc6-dev libde265-0"
if [[ "${FIELDOPS_NO_INSTALL:-}" == 1 ]]; then
	die "install them (as root on Debian/Ubuntu: $install_hint)"
fi
if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
	die "install them as root (Debian/Ubuntu: $install_hint; other systems: libvips >= $MIN_VERSION built with libheif and libde265, its development files, pkg-config and a C compiler)"
fi

export DEBIAN_FRONTEND=noninteractive
log "running: apt-get update"
apt-get update -qq
packages=(libvips-dev libjpeg-dev pkg-config gcc libc6-dev)
# Debian 13 / Ubuntu 24.04 and later ship libheif's decoders as plugins.
if apt-cache show libheif-plugin-libde265 >/dev/null 2>&1; then
	packages+=(libheif-plugin-libde265)
else
	packages+=(libde265-0)
fi
log "running: apt-get install -y --no-install-recommends ${packages[*]}"
apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null

check
if ((${#problems[@]} != 0)); then
	log "still missing after the install:"
	report
	die "libvips could not be set up"
fi
log "installed libvips $(pkg-config --modversion vips) with HEIC support"

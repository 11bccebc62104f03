#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# install-default.sh SRC DEST - meson install script: install SRC as
# $DESTDIR/DEST (mode 0644) unless a file is there already.
set -eu
dest="${DESTDIR:-}$2"
if [ -e "$dest" ]; then
	echo "Keeping existing $dest"
	exit 0
fi
echo "Installing $1 to $dest"
install -D -m 0644 "$1" "$dest"

# Shared by guest/build-image.sh and guest/build-kernel.sh: sourced, not run. The
# caller sets prog (its name in messages).
# shellcheck shell=bash

die() {
	echo "$prog: $*" >&2
	exit 1
}

note() {
	echo "$prog: $*" >&2
}

# default_cache: the cache for downloads and builds: /var/cache/vcrun when it can be
# written, else ./build/cache.
default_cache() {
	if mkdir -p /var/cache/vcrun 2>/dev/null && [ -w /var/cache/vcrun ]; then
		echo /var/cache/vcrun
	else
		echo "$PWD/build/cache"
	fi
}

# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=bash
#
# Sourced, not run: apt-get / apt-cache on a private state per Debian suite,
# so that packages of other suites can be looked up and downloaded without
# touching the host's apt state. Used by install-debian-pythons and
# kernel-test.
#
# The caller sets APT_PRIVATE_DIR (one subfolder per suite is made there)
# and defines die, warn and log.

APT_PRIVATE_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
APT_PRIVATE_ARCH=$(dpkg --print-architecture)

# The mirror this host already uses (it may be a proxy or a snapshot); never
# hard-coded. deb822 first: the stanza whose suites are the main archive
# (a suite name without '-', i.e. not -updates/-security only).
mirror_uri() {
	local f=/etc/apt/sources.list.d/debian.sources uri=
	if [ -r "$f" ]; then
		uri=$(awk 'BEGIN { RS = ""; FS = "\n" }
			{
				types = uris = suites = ""; enabled = 1
				for (i = 1; i <= NF; i++) {
					if ($i ~ /^#/) continue
					split($i, kv, ":[ \t]*")
					k = tolower(kv[1]); v = substr($i, length(kv[1]) + 2)
					sub(/^[ \t]+/, "", v)
					if (k == "types") types = v
					else if (k == "uris") uris = v
					else if (k == "suites") suites = v
					else if (k == "enabled" && v ~ /^no/) enabled = 0
				}
				if (!enabled || types !~ /(^| )deb( |$)/) next
				n = split(suites, s, /[ \t]+/)
				for (j = 1; j <= n; j++)
					if (s[j] != "" && s[j] !~ /-/) { split(uris, u, /[ \t]+/); print u[1]; exit }
			}' "$f")
	fi
	if [ -z "$uri" ] && [ -r /etc/apt/sources.list ]; then
		uri=$(awk '$1 == "deb" {
				i = 2
				if ($i ~ /^\[/) while ($i !~ /\]$/) i++
				if ($i ~ /^\[/ || $i ~ /\]$/) i++
				if ($(i + 1) !~ /-/) { print $i; exit }
			}' /etc/apt/sources.list)
	fi
	[ -n "$uri" ] || die "no Debian mirror found in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list"
	echo "${uri%/}"
}

# apt_private SUITE apt-get|apt-cache ARGS...: the command on SUITE's private
# state. The host's apt.conf.d still applies (proxy settings etc.).
apt_private() {
	local suite=$1 cmd=$2
	shift 2
	local a=$APT_PRIVATE_DIR/$suite
	"$cmd" -q \
		-o Dir::State="$a/state" \
		-o Dir::State::status="$a/state/status" \
		-o Dir::Cache="$a/cache" \
		-o Dir::Etc::SourceList="$a/sources.list" \
		-o Dir::Etc::SourceParts="$a/empty" \
		-o Dir::Etc::Preferences="$a/empty/preferences" \
		-o Dir::Etc::PreferencesParts="$a/empty" \
		-o APT::Architecture="$APT_PRIVATE_ARCH" \
		-o APT::Architectures::="$APT_PRIVATE_ARCH" \
		-o APT::Default-Release= \
		-o Acquire::Languages=none \
		-o Acquire::Check-Valid-Until=false \
		-o APT::Sandbox::User=root \
		"$@"
}

# suite_update SUITE: apt-get update for one suite. Signatures are checked
# with the host's debian-archive-keyring (bookworm's has the bullseye,
# bookworm and trixie keys, which sign bullseye, trixie and sid). Only if
# that fails (e.g. sid moved to a key newer than the host's keyring) do we
# fall back to [trusted=yes] for this private list, and say so.
suite_update() {
	local suite=$1 a=$APT_PRIVATE_DIR/$1 uri
	uri=$(mirror_uri)
	mkdir -p "$a/state/lists/partial" "$a/cache/archives/partial" "$a/empty" "$a/debs"
	: >"$a/state/status"
	echo "deb [signed-by=$APT_PRIVATE_KEYRING check-valid-until=no] $uri $suite main" >"$a/sources.list"
	log "$suite: apt-get update (private state in $a)"
	if ! apt_private "$suite" apt-get update >"$a/update.log" 2>&1 ||
		grep -qE '^(W|E): .*(NO_PUBKEY|not signed|EXPKEYSIG|is not valid|Signature)' "$a/update.log"; then
		if grep -qE 'NO_PUBKEY|not signed|EXPKEYSIG|Signature' "$a/update.log"; then
			warn "$suite: Release signature not verifiable with $APT_PRIVATE_KEYRING; using [trusted=yes] for this private list"
			echo "deb [trusted=yes check-valid-until=no] $uri $suite main" >"$a/sources.list"
			apt_private "$suite" apt-get update >"$a/update.log" 2>&1 ||
				{ cat "$a/update.log" >&2; die "$suite: apt-get update failed"; }
		else
			cat "$a/update.log" >&2
			die "$suite: apt-get update failed"
		fi
	fi
}

# has_candidate SUITE PACKAGE: true if SUITE has a version of PACKAGE.
has_candidate() {
	local c
	c=$(apt_private "$1" apt-cache policy "$2" 2>/dev/null | awk '/Candidate:/ { print $2 }')
	[ -n "$c" ] && [ "$c" != "(none)" ]
}

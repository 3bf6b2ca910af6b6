#!/usr/bin/env bash
# Installs the IP-to-ASN ranges of @ip-location-db/asn (RouteViews and DB-IP data, CC BY 4.0)
# from the npm registry into .cache/npm under the repository root, which git ignores: tests use
# it, nothing ships or commits it. One copy serves every test that wants real ASN data (the
# geo/ASN enrichment of processors/geoip, the IP model's scenarios); Go tests find it with
# processors/geoip/geoiptest.ASNDir. The version is pinned so that the tests' expectations and
# generated addresses stay the same.
#
# Without npm or the registry it says so and exits 0: the tests that need the data then skip.
set -euo pipefail
version="2.3.2026061719"
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/.cache/npm"
pkg="$dest/node_modules/@ip-location-db/asn"
if [ -f "$pkg/asn-ipv4.csv" ] && grep -q "\"version\": \"$version\"" "$pkg/package.json" 2>/dev/null; then
	exit 0
fi
if ! command -v npm >/dev/null; then
	echo "install-asn.sh: npm not found; tests that need real ASN ranges will skip" >&2
	exit 0
fi
mkdir -p "$dest"
if ! npm install --prefix "$dest" --no-save --no-audit --no-fund --loglevel=error "@ip-location-db/asn@$version" >&2; then
	echo "install-asn.sh: could not install @ip-location-db/asn@$version; tests that need real ASN ranges will skip" >&2
fi

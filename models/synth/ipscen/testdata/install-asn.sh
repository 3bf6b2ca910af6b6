#!/usr/bin/env bash
# Installs the real IP-to-ASN table the IP scenario tests build addresses from
# (@ip-location-db/asn: RouteViews and DB-IP ranges, CC BY 4.0) into .cache/npm under the
# repository root, which git ignores: it is test data, never committed. Without npm or the npm
# registry it says so and exits 0; the tests then skip their real-table variant and run the
# synthetic one.
set -euo pipefail
root="$(cd "$(dirname "$0")/../../../.." && pwd)"
version="$(sed -n 's/^\tPackageVersion = "\(.*\)"$/\1/p' "$root/models/synth/ipscen/table.go")"
dest="$root/.cache/npm"
if [ -f "$dest/node_modules/@ip-location-db/asn/asn-ipv4.csv" ] &&
	grep -q "\"version\": \"$version\"" "$dest/node_modules/@ip-location-db/asn/package.json" 2>/dev/null; then
	exit 0
fi
if ! command -v npm >/dev/null; then
	echo "install-asn.sh: npm not found; the real-ASN IP scenario tests will be skipped" >&2
	exit 0
fi
mkdir -p "$dest"
if ! npm install --prefix "$dest" --no-save --no-audit --no-fund --loglevel=error "@ip-location-db/asn@$version" >&2; then
	echo "install-asn.sh: could not install @ip-location-db/asn@$version; the real-ASN IP scenario tests will be skipped" >&2
fi

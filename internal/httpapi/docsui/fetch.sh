#!/usr/bin/env bash
# fetch.sh vendors the renderer of the /docs page: Redoc's standalone bundle
# from the npm registry, so that the page works without internet access.
# It is what `go generate ./internal/httpapi/docsui` runs; run it only to
# change the version, and commit what it writes.
#
# It runs `npm pack redoc@$VERSION`, checks the tarball against the
# registry's integrity hash (pinned here, so a republished tarball is
# refused), and copies exactly these files of the package into this
# directory:
#
#	package/bundles/redoc.standalone.js              → redoc.standalone.js
#	package/bundles/redoc.standalone.js.LICENSE.txt  → redoc.standalone.js.LICENSE.txt
#	package/LICENSE                                  → LICENSE
#
# and records the version in VERSION.
set -euo pipefail
cd "$(dirname "$0")"

VERSION=2.5.4
INTEGRITY=sha512-M6jWhG1qoBnH6TFmzJnstyCZ87HmOY/UzDm78mHiYihEdlV/YcS9ogOo1NlElnJMeLsyxHFe2yFc4sNjHTrABQ==

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tgz=$(cd "$tmp" && npm pack --silent "redoc@$VERSION")
got="sha512-$(openssl dgst -sha512 -binary "$tmp/$tgz" | base64 -w0)"
if [ "$got" != "$INTEGRITY" ]; then
	echo "redoc@$VERSION: integrity $got, want $INTEGRITY" >&2
	exit 1
fi
tar -xzf "$tmp/$tgz" -C "$tmp"
cp "$tmp/package/bundles/redoc.standalone.js" redoc.standalone.js
cp "$tmp/package/bundles/redoc.standalone.js.LICENSE.txt" redoc.standalone.js.LICENSE.txt
cp "$tmp/package/LICENSE" LICENSE
echo "redoc@$VERSION" >VERSION

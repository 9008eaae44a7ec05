#!/usr/bin/env bash
# Makes dist/s3transcode_VERSION_ARCH.deb from the release tarball (Scripts/build-release.sh), with
# dpkg-deb: /usr/bin/s3transcode and the licences; Depends: libc6 (>= 2.34), nothing else. Adds
# the .deb's checksum to dist/SHA256SUMS.
#
#   Scripts/package-deb.sh [dist/s3transcode-VERSION-linux-ARCH.tar.gz]
set -euo pipefail
cd "$(dirname "$0")/.."
tarball="${1:-$(ls -t dist/s3transcode-*-linux-*.tar.gz | head -n1)}"
name=$(basename "$tarball" .tar.gz)
version=${name#s3transcode-}
version=${version%-linux-*}
case "${name##*-linux-}" in x86_64) arch=amd64 ;; arm64) arch=arm64 ;; *) arch=${name##*-linux-} ;; esac
work=$(mktemp -d "${TMPDIR:-/tmp}/s3t-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
tar -xzf "$tarball" -C "$work"
pkg="$work/pkg"
install -D -m 0755 "$work/$name/s3transcode" "$pkg/usr/bin/s3transcode"
install -D -m 0644 "$work/$name/LICENSE" "$pkg/usr/share/doc/s3transcode/copyright"
install -D -m 0644 "$work/$name/THIRD-PARTY-NOTICES.txt" "$pkg/usr/share/doc/s3transcode/THIRD-PARTY-NOTICES.txt"
mkdir -p "$pkg/DEBIAN"
cat >"$pkg/DEBIAN/control" <<CONTROL
Package: s3transcode
Version: $version
Architecture: $arch
Maintainer: s3transcode maintainers <s3transcode@users.noreply.github.com>
Depends: libc6 (>= 2.34)
Recommends: ca-certificates
Section: sound
Priority: optional
Installed-Size: $(du -sk "$pkg/usr" | cut -f1)
Description: transcode audio to MP3 and stream it into Amazon S3
 s3transcode decodes WAV (every PCM flavour), AIFF, CAF, FLAC, MP3, Ogg, M4A (ALAC) and WavPack, encodes
 MP3 with LAME and streams it into S3 or an S3-compatible store as a multipart upload, with bounded
 memory and no temporary file. One self-contained binary: FFmpeg, LAME, curl and OpenSSL inside.
CONTROL
deb="dist/s3transcode_${version}_$arch.deb"
dpkg-deb --root-owner-group --build "$pkg" "$deb" >/dev/null
(cd dist && { grep -v " $(basename "$deb")\$" SHA256SUMS 2>/dev/null || true; sha256sum "$(basename "$deb")"; } >SHA256SUMS.new && mv SHA256SUMS.new SHA256SUMS)
echo "$deb"

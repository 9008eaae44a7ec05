#!/usr/bin/env bash
# Makes the AWS Lambda deployment package: dist/s3transcode-lambda-ARCH.zip, holding one file,
# `bootstrap` (the s3transcode binary, mode 755), for a provided.al2023 function. Started as
# `bootstrap` with no arguments the binary runs its own Lambda runtime loop (`s3transcode lambda`).
#
#   Scripts/package-lambda.sh                 builds the release binary (Scripts/build-release.sh)
#   Scripts/package-lambda.sh path/to/binary  packages that binary (e.g. the portable one in dist/)
#   S3TRANSCODE_BINARY=path Scripts/package-lambda.sh     the same
#   ARCH=arm64 Scripts/package-lambda.sh      names the zip for another architecture (default: the
#                                             binary's own, x86_64 or arm64 as Lambda names them)
#
# Prints the zip's path. Warns when the binary needs shared libraries that provided.al2023 lacks.
set -euo pipefail
cd "$(dirname "$0")/.."

binary="${1:-${S3TRANSCODE_BINARY:-}}"
if [ -z "$binary" ]; then
    binary="$(bash Scripts/build-release.sh)"
fi
[ -f "$binary" ] && [ -x "$binary" ] || { echo "package-lambda: $binary is not an executable file" >&2; exit 66; }

if [ -z "${ARCH:-}" ]; then
    case "$(file -b "$binary" 2>/dev/null || true)" in
        *x86-64*) ARCH=x86_64 ;;
        *aarch64*|*ARM\ aarch64*) ARCH=arm64 ;;
        *) case "$(uname -m)" in aarch64|arm64) ARCH=arm64 ;; *) ARCH=x86_64 ;; esac ;;
    esac
fi

# provided.al2023 has glibc, libstdc++ and libgcc_s, and little else: anything more must be in the binary.
if command -v ldd >/dev/null && ldd "$binary" >/dev/null 2>&1; then
    extra="$(ldd "$binary" | awk '{print $1}' \
        | grep -vE '^(linux-vdso|linux-gate|/lib|/lib64)|^(libc|libm|libdl|libpthread|librt|libutil|libstdc\+\+|libgcc_s|ld-linux[-a-z0-9_.]*)\.so' || true)"
    if [ -n "$extra" ]; then
        echo "package-lambda: warning: $binary needs $(echo "$extra" | wc -l) shared libraries that provided.al2023" \
            "does not have ($(echo "$extra" | head -n 5 | tr '\n' ' ')…): package the portable (static) binary instead" >&2
    fi
fi

mkdir -p dist
zip_path="dist/s3transcode-lambda-$ARCH.zip"
stage="$(mktemp -d "${TMPDIR:-/tmp}/s3transcode-lambda.XXXXXX")"
trap 'rm -rf "$stage"' EXIT
cp "$binary" "$stage/bootstrap"
chmod 755 "$stage/bootstrap"
rm -f "$zip_path"
if command -v zip >/dev/null; then
    # -X: no extra attributes; -j: the file at the zip's root, as Lambda looks for it.
    zip -q -X -j "$zip_path" "$stage/bootstrap"
else
    python3 - "$zip_path" "$stage/bootstrap" <<'EOF'
import sys, zipfile
info = zipfile.ZipInfo("bootstrap", date_time=(1980, 1, 1, 0, 0, 0))
info.external_attr = 0o100755 << 16  # a regular file, mode 755: Lambda runs it
info.compress_type = zipfile.ZIP_DEFLATED
with zipfile.ZipFile(sys.argv[1], "w") as archive, open(sys.argv[2], "rb") as binary:
    archive.writestr(info, binary.read())
EOF
fi
echo "$zip_path"

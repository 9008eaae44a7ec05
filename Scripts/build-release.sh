#!/usr/bin/env bash
# Builds the portable release: one binary that needs nothing but the C library (glibc >= 2.34),
# packed as dist/s3transcode-VERSION-linux-ARCH.tar.gz (binary, LICENSE, THIRD-PARTY-NOTICES.txt)
# with dist/SHA256SUMS beside it. Prints the binary's path.
#
# - FFmpeg and curl are built from Debian's source packages (`apt-get source`, which checks the
#   .dsc's checksums against the archive's signed index), configured with only what s3transcode
#   uses; LAME, OpenSSL, zlib and expat are Debian's static libraries (libmp3lame.a, libssl.a …).
# - The built static libraries are cached in .release-cache/ (S3T_RELEASE_CACHE), keyed by the
#   source version and the configure flags: a second build only relinks the Swift code.
# - The Swift runtime and libstdc++ are linked statically, Foundation not at all (see the checks
#   below); the Swift build goes to its own scratch path (.build-release), so the development build
#   is untouched.
#
# The development build (`swift build` against Debian's shared -dev packages) stays the default
# for the tests; `S3T_BINARY=<this script's output> bash Scripts/test.sh --portable` tests this one.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
arch=$(uname -m)
cache="${S3T_RELEASE_CACHE:-$root/.release-cache}"
prefix="$cache/$arch"
jobs="${JOBS:-$(nproc)}"
log() { echo "build-release: [${SECONDS}s] $*" >&2; }
mkdir -p "$cache/src" "$prefix/lib/pkgconfig" "$prefix/include"

# --- Debian source packages -------------------------------------------------------------------
# A deb-src line for each Debian suite apt already uses (deb822 .sources or one-line .list).
apt_source_list() {
    local codename
    codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
    {
        { cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true; } |
            awk '$1 == "deb" { sub(/\[[^]]*\]/, ""); print $2, $3 }'
        for f in /etc/apt/sources.list.d/*.sources; do
            [ -e "$f" ] || continue
            awk 'BEGIN { RS = ""; FS = "\n" }
                 /(^|\n)Types:[^\n]*deb/ { uris = ""; suites = ""
                     for (i = 1; i <= NF; i++) {
                         if ($i ~ /^URIs:/) uris = substr($i, 6)
                         if ($i ~ /^Suites:/) suites = substr($i, 8) }
                     n = split(uris, u, " "); m = split(suites, s, " ")
                     for (a = 1; a <= n; a++) for (b = 1; b <= m; b++) print u[a], s[b] }' "$f"
        done
    } | awk -v c="$codename" '$2 == c || $2 == c "-updates" || $2 == c "-security" { print "deb-src", $1, $2, "main" }' | sort -u
}

# Fetches and unpacks (patches applied) Debian's source of PACKAGE into $cache/src/PACKAGE-VERSION;
# prints that directory.
debian_source() {
    local package=$1 list="$cache/apt/sources.list" dir version
    mkdir -p "$cache/apt/lists/partial"
    local opts=(-o "Dir::Etc::SourceList=$list" -o Dir::Etc::SourceParts=/dev/null
                -o "Dir::State::Lists=$cache/apt/lists" -o "Dir::Cache=$cache/apt/cache"
                -o Debug::NoLocking=1 -o APT::Sandbox::User=root -qq)
    if [ ! -s "$list" ] || [ -z "$(find "$cache/apt/lists" -name '*Sources*' -mtime -1 2>/dev/null)" ]; then
        apt_source_list >"$list"
        [ -s "$list" ] || { log "no Debian suite found in /etc/apt/sources.list*"; exit 1; }
        apt-get "${opts[@]}" update >&2
    fi
    version=$(apt-cache "${opts[@]}" showsrc "$package" | awk '/^Version:/ { print $2 }' | sort -V | tail -n1)
    dir="$cache/src/$package-${version#*:}"
    if [ ! -f "$dir/.unpacked" ]; then
        rm -rf "$dir"
        (cd "$cache/src" && apt-get "${opts[@]}" source --download-only "$package=$version" >&2)
        dpkg-source -x "$cache/src/${package}_${version#*:}.dsc" "$dir" >&2
        touch "$dir/.unpacked"
    fi
    echo "$dir"
}

# Runs "build_NAME" unless the stamp says the same source and flags were built already.
cached_build() {
    local name=$1 key=$2 stamp="$prefix/.$1.stamp"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ]; then
        log "$name: cached ($(head -c 60 <<<"$key")…)"
        return
    fi
    log "$name: building"
    "build_$name"
    echo "$key" >"$stamp"
}

cflags="-O2 -fPIC -ffunction-sections -fdata-sections"

# --- FFmpeg ------------------------------------------------------------------------------------
# Exactly the inputs the README lists (and the tests decode), the MP3 muxer and libmp3lame.
ffmpeg_demuxers=wav,w64,aiff,caf,flac,ogg,mp3,mov,wv,aac
ffmpeg_decoders='pcm_*,adpcm_ima_wav,adpcm_ms,flac,alac,aac,wavpack,vorbis,opus,mp3,mp3float'
ffmpeg_parsers=flac,mpegaudio,vorbis,opus,aac
ffmpeg_flags=(
    --disable-everything --disable-programs --disable-doc --disable-network --disable-autodetect
    --disable-avdevice --disable-avfilter --disable-swscale --disable-postproc --disable-debug
    --disable-iconv --disable-zlib --disable-bzlib --disable-lzma
    --enable-static --disable-shared --enable-pic
    --enable-swresample --enable-libmp3lame --enable-encoder=libmp3lame --enable-muxer=mp3
    --enable-demuxer="$ffmpeg_demuxers" --enable-decoder="$ffmpeg_decoders" --enable-parser="$ffmpeg_parsers"
)
build_ffmpeg() {
    local src build="$cache/build/ffmpeg"
    src=$(debian_source ffmpeg)
    rm -rf "$build" && mkdir -p "$build"
    # The license check: configure refuses --enable-libmp3lame only with non-free; without
    # --enable-gpl/--enable-version3 the result is LGPL-2.1+ (checked below from config.h).
    (cd "$build" && "$src/configure" --prefix="$prefix" "${ffmpeg_flags[@]}" \
        --extra-cflags="$cflags" --extra-ldflags="-L$prefix/lib" >"$build/configure.log" 2>&1) ||
        { tail -n 30 "$build/configure.log" >&2; exit 1; }
    grep -q 'FFMPEG_LICENSE "LGPL version 2.1 or later"' "$build/config.h" ||
        { log "FFmpeg is not configured as LGPL-2.1+"; exit 1; }
    make -C "$build" -j"$jobs" >"$build/make.log" 2>&1 || { tail -n 30 "$build/make.log" >&2; exit 1; }
    make -C "$build" install >/dev/null
    cp "$src/COPYING.LGPLv2.1" "$prefix/LICENSE.ffmpeg"
    echo "$src" >"$prefix/.ffmpeg.src"
}

# --- curl --------------------------------------------------------------------------------------
# HTTP and HTTPS over OpenSSL, nothing else.
curl_flags=(
    --disable-shared --enable-static --with-pic --with-openssl --with-zlib
    --disable-ftp --disable-file --disable-ldap --disable-ldaps --disable-rtsp --disable-dict
    --disable-telnet --disable-tftp --disable-pop3 --disable-imap --disable-smb --disable-smtp
    --disable-gopher --disable-mqtt --disable-manual --disable-ntlm-wb --disable-alt-svc
    --disable-unix-sockets --enable-threaded-resolver
    --without-gnutls --without-nss --without-libidn2 --without-libpsl --without-brotli
    --without-zstd --without-nghttp2 --without-ngtcp2 --without-nghttp3 --without-quiche
    --without-libssh2 --without-libssh --without-librtmp --without-gssapi --without-libgsasl
    --without-ca-bundle --without-ca-path --without-ca-fallback
)
build_curl() {
    local src build="$cache/build/curl"
    src=$(debian_source curl)
    # Debian builds its GnuTLS and NSS flavours by renaming the library (90_gnutls, 99_nss) and
    # takes them off again for the OpenSSL one, as here; its patches touch configure.ac and
    # Makefile.am, so regenerate as Debian's build does.
    if [ ! -f "$src/.autoreconf" ]; then
        (cd "$src" && patch -R -s -p1 <debian/patches/99_nss.patch && patch -R -s -p1 <debian/patches/90_gnutls.patch &&
            autoreconf -fi >/dev/null 2>&1) && touch "$src/.autoreconf"
    fi
    rm -rf "$build" && mkdir -p "$build"
    # arc4random is glibc 2.36: curl's own random source instead (OpenSSL's).
    (cd "$build" && CFLAGS="$cflags" CPPFLAGS="-I$prefix/include" LDFLAGS="-L$prefix/lib" ac_cv_func_arc4random=no \
        "$src/configure" --prefix="$prefix" "${curl_flags[@]}" >"$build/configure.log" 2>&1) ||
        { tail -n 30 "$build/configure.log" >&2; exit 1; }
    make -C "$build/lib" -j"$jobs" >"$build/make.log" 2>&1 || { tail -n 30 "$build/make.log" >&2; exit 1; }
    make -C "$build/lib" install >/dev/null
    make -C "$build/include" install >/dev/null
    make -C "$build" install-pkgconfigDATA >/dev/null
    cp "$src/COPYING" "$prefix/LICENSE.curl"
}

# Debian's static archives, put where the linker finds them before the shared ones.
debian_static_libs() {
    local libdir gcclib
    libdir=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo "$arch-linux-gnu")
    for lib in libmp3lame libssl libcrypto libz libexpat; do
        ln -sf "/usr/lib/$libdir/$lib.a" "$prefix/lib/$lib.a"
    done
    # The Swift runtime's C++ parts: static libstdc++, so no libstdc++.so/libgcc_s.so is needed.
    # FFmpeg asks for libatomic (unused on x86_64, kept static all the same).
    gcclib=$(dirname "$(gcc -print-file-name=libstdc++.a)")
    ln -sf "$gcclib/libstdc++.a" "$prefix/lib/libstdc++.a"
    ln -sf "$gcclib/libatomic.a" "$prefix/lib/libatomic.a"
    # pkg-config files for the Swift build: every static dependency in Libs (SwiftPM reads no
    # Libs.private), and -L to this folder first; without the flags SwiftPM refuses (-pthread: the
    # Swift runtime links it anyway; -DCURL_STATICLIB matters on Windows only).
    local pc="$prefix/lib/pkgconfig" built
    for f in "$pc"/lib*.pc; do
        # The folder they were built in, which a moved cache no longer is: then the headers would be
        # taken from /usr/include and the libraries found only by chance.
        built=$(awk -F= '/^prefix=/ { print $2; exit }' "$f")
        [ "$built" = "$prefix" ] || sed -i "s|$built|$prefix|g" "$f"
        grep -q '^# s3t: static' "$f" && continue
        awk '/^Libs:/ { libs = $0; next } /^Libs.private:/ { priv = substr($0, 15); next }
             { gsub(/ -DCURL_STATICLIB/, ""); print }
             END { line = libs " " priv; gsub(/ -pthread/, "", line); print line; print "# s3t: static" }' "$f" >"$f.tmp" && mv "$f.tmp" "$f"
    done
    printf 'Name: zlib\nDescription: zlib (static)\nVersion: 1\nLibs: -L%s/lib -lz\nCflags:\n' "$prefix" >"$pc/zlib.pc"
    printf 'Name: expat\nDescription: expat (static)\nVersion: 2\nLibs: -L%s/lib -lexpat\nCflags:\n' "$prefix" >"$pc/expat.pc"
    # For the SigV4 target's digests (COpenSSL): without it pkg-config answers Debian's libcrypto.pc,
    # whose -lcrypto finds libcrypto.so. Shaped as the loop above leaves a file (prefix=, the mark).
    printf 'prefix=%s\nName: libcrypto\nDescription: OpenSSL libcrypto (static)\nVersion: 3\nLibs: -L%s/lib -lcrypto\nCflags:\n# s3t: static\n' \
        "$prefix" "$prefix" >"$pc/libcrypto.pc"
}

src_key() { apt-cache -o "Dir::Etc::SourceList=$cache/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null \
    -o "Dir::State::Lists=$cache/apt/lists" -qq showsrc "$1" 2>/dev/null | awk '/^Version:/ { print $2 }' | sort -V | tail -n1; }
debian_source ffmpeg >/dev/null  # refreshes the index when it is older than a day
cached_build ffmpeg "$(src_key ffmpeg) ${ffmpeg_flags[*]} $cflags"
cached_build curl "$(src_key curl) ${curl_flags[*]} $cflags"
debian_static_libs

# --- Swift -------------------------------------------------------------------------------------
scratch="${S3T_RELEASE_SCRATCH:-$root/.build-release}"
# -s strips the symbol tables; -static-libgcc takes the unwinder from libgcc_eh.a, not libgcc_s.so;
# glibc-compat.o keeps glibc's symbol versions at 2.34 or older (see the file);
# --no-export-dynamic undoes SwiftPM's --export-dynamic: nothing loads this binary's symbols, and
# exporting 7,900 of them cost 1.2 MB and symbol lookups at every start.
# --disable-local-rpath: SwiftPM's RUNPATH $ORIGIN would make the loader look beside the binary
# first, so a libc.so.6 dropped next to it would be loaded; this binary loads nothing of its own.
# The link map (which archive members went in, and their sizes) is checked below.
gcc -O2 -c Scripts/glibc-compat.c -o "$prefix/lib/glibc-compat.o"
# ArgumentParser imports FoundationEssentials for LocalizedError and one JSONEncoder: 7.5 MB of
# the binary. It is compiled against a stand-in instead (module aliasing, SE-0339); the reasons
# and the limits are in Scripts/release/FoundationStandIn.swift.
standin="$scratch/foundation-stand-in"
mkdir -p "$standin"
swiftc -swift-version 6 -O -static -emit-library -emit-module -module-name FoundationStandIn -parse-as-library \
    -emit-module-path "$standin/FoundationStandIn.swiftmodule" -o "$standin/libFoundationStandIn.a" \
    Scripts/release/FoundationStandIn.swift Sources/Basics/JSONEncoding.swift
link_map="${S3T_LINK_MAP:-$scratch/s3transcode.map}"
mkdir -p "$(dirname "$link_map")"
swift_flags=(-c release --scratch-path "$scratch" --static-swift-stdlib --disable-local-rpath
    -Xlinker -s -Xswiftc -Xclang-linker -Xswiftc -static-libgcc -Xlinker "$prefix/lib/glibc-compat.o"
    -Xlinker --no-export-dynamic -Xlinker "-Map=$link_map"
    -Xswiftc -I"$standin" -Xswiftc -module-alias -Xswiftc FoundationEssentials=FoundationStandIn
    -Xlinker "$standin/libFoundationStandIn.a")
log "swift: building"
binary="$(swift build "${swift_flags[@]}" --show-bin-path)/s3transcode"
# SwiftPM does not see the static libraries above change: without this, a rebuilt FFmpeg or curl
# would not be linked in until a Swift source changed. Linking again takes seconds.
rm -f "$binary"
PKG_CONFIG_PATH="$prefix/lib/pkgconfig" swift build "${swift_flags[@]}" --product s3transcode >&2

# --- Checks: libc only, from the system's paths; glibc <= 2.34 ----------------------------------
needed=$(objdump -p "$binary" | awk '/NEEDED/ { print $2 }' | sort | tr '\n' ' ')
if objdump -p "$binary" | grep -qE '^ *(RPATH|RUNPATH) '; then
    log "the binary has a library search path of its own: $(objdump -p "$binary" | grep -E '^ *(RPATH|RUNPATH) ')"
    exit 1
fi
for lib in $needed; do
    case "$lib" in libc.so.6 | libm.so.6 | libpthread.so.0 | libdl.so.2 | librt.so.1 | ld-linux*) ;;
    *) log "the binary needs $lib (only the C library is allowed): $needed"; exit 1 ;; esac
done
newest=$(objdump -T "$binary" | grep -o 'GLIBC_[0-9.]*' | sort -Vu | tail -n1)
if [ "$(printf '%s\n' "$newest" GLIBC_2.34 | sort -V | tail -n1)" != GLIBC_2.34 ]; then
    log "the binary needs $newest (at most GLIBC_2.34): $(objdump -T "$binary" | grep "$newest" | awk '{ print $NF }' | tr '\n' ' ')"
    exit 1
fi

# The licences of everything linked into the binary.
notices() {
    local toolchain section
    toolchain=$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")
    section() { printf '\n%s\n%s\n%s\n\n' "================================================================" "$1" \
        "================================================================"; cat "$2"; }
    echo "s3transcode $version links the following software statically. Each is listed with its licence."
    echo "FFmpeg and curl were built from Debian's source packages by Scripts/build-release.sh"
    echo "(in s3transcode's source repository), which rebuilds and relinks this binary from source."
    section "FFmpeg $(basename "$(cat "$prefix/.ffmpeg.src")" | sed 's/^ffmpeg-//') (libavformat, libavcodec, libavutil, libswresample), LGPL-2.1-or-later; configured with: ${ffmpeg_flags[*]}" "$prefix/LICENSE.ffmpeg"
    section "LAME (libmp3lame, Debian $(dpkg-query -W -f='${Version}' libmp3lame-dev)), LGPL-2.0-or-later" /usr/share/doc/libmp3lame0/copyright
    section "curl (libcurl $(pkg-config --modversion "$prefix/lib/pkgconfig/libcurl.pc")), curl licence (MIT-style)" "$prefix/LICENSE.curl"
    section "OpenSSL (Debian $(dpkg-query -W -f='${Version}' libssl-dev)), Apache-2.0" /usr/share/doc/libssl3/copyright
    section "zlib (Debian $(dpkg-query -W -f='${Version}' zlib1g-dev)), zlib licence" /usr/share/doc/zlib1g/copyright
    section "expat (Debian $(dpkg-query -W -f='${Version}' libexpat1-dev)), MIT" /usr/share/doc/libexpat1/copyright
    section "Swift runtime, Dispatch ($(swift --version 2>/dev/null | head -n1)), Apache-2.0 with Runtime Library Exception" "$toolchain/share/swift/LICENSE.txt"
    section "swift-argument-parser, Apache-2.0" "$scratch/checkouts/swift-argument-parser/LICENSE.txt"
    section "GCC runtime (libstdc++, libgcc), GPL-3.0 with GCC Runtime Library Exception" /usr/share/doc/libstdc++6/copyright
}

# No Foundation at all: Foundation brings CoreFoundation and ICU with its 30+ MB of data,
# FoundationXML libxml2, and even FoundationEssentials alone is 7.5 MB. The sources use the Basics
# target instead (Timestamp, JSON, Base64 …), and this keeps it so.
heavy=$(grep -o -E 'lib(Foundation|FoundationEssentials|_FoundationCollections|FoundationInternationalization|_FoundationICU|CoreFoundation|FoundationXML|FoundationNetworking|xml2|icu[a-z0-9]*)\.a' "$link_map" | sort -u | tr '\n' ' ' || true)
if [ -n "$heavy" ] || grep -q -a 'icudt[0-9]*l' "$binary"; then
    log "Foundation, ICU or libxml2 is linked in: ${heavy:-ICU data}; find the code with"
    log "  nm -u $scratch/$arch-unknown-linux-gnu/release/*.build/*.o | swift demangle | grep -E 'Foundation(Essentials)?\.|FoundationInternationalization|FoundationXML'"
    log "  or look up which object pulled it in: grep -A1 -E '^/.*lib(Foundation|FoundationEssentials|_FoundationICU)\.a' $link_map"
    exit 1
fi

# --- Tarball -----------------------------------------------------------------------------------
version=$("$binary" --version | awk '{ print $NF }')
case "$arch" in x86_64) tararch=x86_64 ;; aarch64) tararch=arm64 ;; *) tararch=$arch ;; esac
name="s3transcode-$version-linux-$tararch"
stage="$cache/stage/$name"
rm -rf "$stage" && mkdir -p "$stage" dist
cp "$binary" "$stage/s3transcode"
cp LICENSE "$stage/LICENSE"
notices >"$stage/THIRD-PARTY-NOTICES.txt"
# Reproducible archive: fixed owner, order and times.
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$cache/stage" -czf "dist/$name.tar.gz" "$name"
(cd dist && sha256sum "$name.tar.gz" >SHA256SUMS)
log "dist/$name.tar.gz ($(du -k "dist/$name.tar.gz" | cut -f1) KiB; binary $(du -k "$binary" | cut -f1) KiB, needs $needed, newest $newest)"
echo "$binary"

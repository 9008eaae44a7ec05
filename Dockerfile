# The portable s3transcode: the binary, the C library it links (glibc: libc, libm, the loader) and
# a CA bundle; no shell, no package manager. Build it from the release tarball:
#
#   bash Scripts/build-release.sh
#   docker build --build-arg TARBALL=dist/s3transcode-VERSION-linux-x86_64.tar.gz -t s3transcode .
#   docker run --rm -e AWS_ACCESS_KEY_ID -e AWS_SECRET_ACCESS_KEY -e AWS_REGION -v "$PWD:/work" \
#       s3transcode /work/in.wav s3://bucket/in.mp3
#
# The same file set is what Scripts/test-portable.sh runs the binary in (a chroot: this machine
# has no Docker engine, so the image itself is not built by the tests).
FROM debian:bookworm-slim AS files
ARG TARBALL
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
COPY ${TARBALL} /tmp/release.tar.gz
RUN mkdir -p /out/tmp /out/etc/ssl/certs && chmod 1777 /out/tmp \
    && tar -xzf /tmp/release.tar.gz -C /tmp && mv /tmp/s3transcode-*/s3transcode /out/s3transcode \
    && for lib in $(ldd /out/s3transcode | grep -o '/[^ ]*'); do mkdir -p "/out$(dirname "$lib")" && cp -L "$lib" "/out$lib"; done \
    && cp /etc/ssl/certs/ca-certificates.crt /out/etc/ssl/certs/ca-certificates.crt \
    && mkdir -p /out/usr/share/doc/s3transcode && cp /tmp/s3transcode-*/LICENSE /tmp/s3transcode-*/THIRD-PARTY-NOTICES.txt /out/usr/share/doc/s3transcode/

FROM scratch
COPY --from=files /out/ /
ENTRYPOINT ["/s3transcode"]

#!/usr/bin/env python3
"""How many warm-up frames does LAME need before its frames code what the serial encode's do?

Encodes INPUT whole, then again from frames k (multiples of 98, so both encoders are at the same
place in the padding-bit cycle) with the ffmpeg CLI (the same libmp3lame wrapper s3transcode uses),
and counts, per range of frames after the start, the frames whose own main data (part2_3_length
bits), header and main_data_begin differ from the serial encode's frame at the same position.

Usage: Scripts/measure-warmup.py INPUT.wav [ffmpeg encoder options, default -b:a 192k]
  e.g. Scripts/measure-warmup.py music.wav -q:a 2;  Scripts/measure-warmup.py music.wav -abr 1 -b:a 192k
"""
import os
import subprocess
import sys
import tempfile

BITRATES = {1: [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
            2: [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160]}
RATES = {3: [44100, 48000, 32000], 2: [22050, 24000, 16000], 0: [11025, 12000, 8000]}


def parse(data):
    """(header+side info bytes, main_data_begin, own main data bytes) of every Layer III frame."""
    frames, pos = [], 0
    while pos + 4 <= len(data):
        h = int.from_bytes(data[pos:pos + 4], "big")
        assert h >> 21 == 0x7FF, f"no frame sync at {pos}"
        version, crc = (h >> 19) & 3, not (h >> 16) & 1
        lsf = version != 3
        size = (72000 if lsf else 144000) * BITRATES[2 if lsf else 1][(h >> 12) & 15] \
            // RATES[version][(h >> 10) & 3] + ((h >> 9) & 1)
        channels = 1 if (h >> 6) & 3 == 3 else 2
        side = (9 if channels == 1 else 17) if lsf else (17 if channels == 1 else 32)
        start = 6 if crc else 4
        bits = int.from_bytes(data[pos + start:pos + start + side], "big")
        cursor = [0]

        def take(n):
            cursor[0] += n
            return (bits >> (side * 8 - cursor[0])) & ((1 << n) - 1)
        mdb = take(8 if lsf else 9)
        take((channels if lsf else (5 if channels == 1 else 3)) + (0 if lsf else 4 * channels))
        part23 = 0
        for _ in range(1 if lsf else 2):
            for _ in range(channels):
                part23 += take(12)
                take(9 + 8 + (9 if lsf else 4) + 1 + 22 + (2 if lsf else 3))
        frames.append((data[pos:pos + start + side], mdb, part23, start + side, size, pos))
        pos += size
    stream, area_starts = bytearray(), []
    for head, mdb, part23, offset, size, at in frames:
        area_starts.append(len(stream))
        stream += data[at + offset:at + size]
    out = []
    for (head, mdb, part23, *_), area in zip(frames, area_starts):
        begin = area - mdb
        own = bytearray(stream[begin:begin + (part23 + 7) // 8])
        if part23 % 8 and own:
            own[-1] &= (0xFF << (8 - part23 % 8)) & 0xFF
        out.append((bytes(head[:4]), mdb, bytes(own)))
    return out


def encode(source, start, options, out):
    trim = ["-af", f"atrim=start_sample={start}"] if start else []
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", source, *trim, "-c:a", "libmp3lame",
                    *options, "-write_xing", "0", "-id3v2_version", "0", "-f", "mp3", out], check=True)
    return parse(open(out, "rb").read())


def main():
    source, options = sys.argv[1], sys.argv[2:] or ["-b:a", "192k"]
    with tempfile.TemporaryDirectory() as tmp:
        serial = encode(source, 0, options, os.path.join(tmp, "serial.mp3"))
        ranges = [(0, 4), (4, 8), (8, 16), (16, 32), (32, 64), (64, 512)]
        counts = {r: [0, 0, 0, 0] for r in ranges}
        for k in [98 * 3, 98 * 7, 98 * 12, 98 * 17, 98 * 21]:
            if k >= len(serial):
                continue
            part = encode(source, k * 1152, options, os.path.join(tmp, "part.mp3"))
            for a, b in ranges:
                for j in range(a, min(b, len(part), len(serial) - k)):
                    c = counts[(a, b)]
                    c[0] += 1
                    c[1] += part[j][2] != serial[k + j][2]
                    c[2] += part[j][0] != serial[k + j][0]
                    c[3] += part[j][1] != serial[k + j][1]
    print(" ".join(options), os.path.basename(source))
    for (a, b), (n, data, header, mdb) in counts.items():
        print(f"  frames {a:3}-{b - 1:3} after the start: main data differs {data}/{n}, "
              f"header {header}/{n}, main_data_begin {mdb}/{n}")


if __name__ == "__main__":
    main()

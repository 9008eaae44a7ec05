#!/usr/bin/env python3
"""How many warm-up frames does LAME need before its frames code what the serial encode's do?

Encodes INPUT whole, then again from frames k (multiples of 98, so both encoders are at the same
place in the padding-bit cycle) with the ffmpeg CLI (the same libmp3lame wrapper s3transcode uses),
and counts, per range of frames after the start, the frames whose own main data (part2_3_length
bits), header and main_data_begin differ from the serial encode's frame at the same position.

Usage: Scripts/measure-warmup.py INPUT.wav [ffmpeg encoder options, default -b:a 192k]
  e.g. Scripts/measure-warmup.py music.wav -q:a 2;  Scripts/measure-warmup.py music.wav -abr 1 -b:a 192k
"""
import importlib.util
import os
import subprocess
import sys
import tempfile


def load_checker():
    """Scripts/check-joins.py, the one Layer III frame and side-information parser."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "check-joins.py")
    spec = importlib.util.spec_from_file_location("check_joins", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CHECKER = load_checker()


def parse(data):
    """(header, main_data_begin, own main data bytes) of every Layer III frame."""
    frames = CHECKER.Stream(data).frames
    stream, area_starts = bytearray(), []
    for f in frames:
        CHECKER.parse_side_info(data, f)
        area_starts.append(len(stream))
        stream += data[f.payload_offset:f.offset + f.length]
    out = []
    for f, area in zip(frames, area_starts):
        part23 = sum(g.part2_3 for g in f.granules)
        begin = area - f.main_data_begin
        own = bytearray(stream[begin:begin + (part23 + 7) // 8])
        if part23 % 8 and own:
            own[-1] &= (0xFF << (8 - part23 % 8)) & 0xFF
        out.append((bytes(data[f.offset:f.offset + 4]), f.main_data_begin, bytes(own)))
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

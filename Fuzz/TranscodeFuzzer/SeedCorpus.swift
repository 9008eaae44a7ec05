// The seed corpus: valid inputs of every flavour WAVFixture writes, short so the fuzzer runs fast.
// The fuzzer reads the last byte as the mode (0 a file, 1 a pipe, 2 probe): each seed is written
// once per mode, with its last byte set to it.
#if canImport(Glibc)
import Glibc
#endif

enum SeedCorpus {
    static func fixtures() -> [(String, WAVFixture)] {
        var seeds: [(String, WAVFixture)] = []
        for encoding in WAVFixture.Encoding.allCases {
            for container in WAVFixture.Container.allCases {
                seeds.append(("\(encoding.rawValue)-\(container.rawValue)",
                              WAVFixture(encoding: encoding, container: container, sampleRate: 8000, channels: 2, frames: 400)))
            }
        }
        seeds.append(("mono-info", WAVFixture(sampleRate: 22_050, channels: 1, frames: 300, info: [("INAM", "seed"), ("IART", "fuzz")])))
        var after = WAVFixture(sampleRate: 8000, frames: 300, info: [("INAM", "after")])
        after.infoAfterData = true
        seeds.append(("info-after-data", after))
        seeds.append(("six-channels", WAVFixture(encoding: .s16, container: .extensible, sampleRate: 8000, channels: 6, frames: 200)))
        seeds.append(("header-lies", WAVFixture(sampleRate: 8000, frames: 300, sizeFields: .zero)))
        seeds.append(("truncated", WAVFixture(sampleRate: 8000, frames: 300, truncatedBytes: 3)))
        return seeds
    }

    static func write(to directory: String) {
        mkdir(directory, 0o755)
        for (name, fixture) in fixtures() {
            let bytes = fixture.bytes()
            for (suffix, mode) in [("file", 0), ("pipe", 1), ("probe", 2)] as [(String, UInt8)] {
                var variant = bytes
                variant[variant.count - 1] = variant[variant.count - 1] / 3 * 3 % 252 + mode  // a multiple of 3, plus the mode
                let path = "\(directory)/\(name)-\(suffix).wav"
                guard let file = fopen(path, "wb") else { continue }
                _ = variant.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
                fclose(file)
            }
        }
    }
}

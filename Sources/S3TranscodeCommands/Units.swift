import S3

/// Sizes and durations as people type them.
enum Units {
    /// `5M`, `5MiB`, `16m`, `1G`, `1048576`: bytes. K, M, G, T are binary multiples (KiB, MiB …).
    static func bytes(_ text: String) -> Int? {
        let lower = text.lowercased().replacing("ib", with: "").replacing("b", with: "")
        let digits = lower.prefix { $0.isNumber || $0 == "." }
        guard let value = Double(digits), value >= 0 else { return nil }
        let multiplier: Double
        switch lower.dropFirst(digits.count) {
        case "": multiplier = 1
        case "k": multiplier = 1024
        case "m": multiplier = 1_048_576
        case "g": multiplier = 1_073_741_824
        case "t": multiplier = 1_099_511_627_776
        default: return nil
        }
        let result = value * multiplier
        return result < Double(Int.max) ? Int(result) : nil
    }

    /// `90s`, `15m`, `2h`, `7d`, `1h30m`, `3600`: seconds. `nil` for anything else, including a
    /// duration too long to count in an `Int` (`99999999999999999d`).
    static func seconds(_ text: String) -> Int? {
        if let plain = Int(text) { return plain >= 0 ? plain : nil }
        var total = 0
        var number = ""
        var sawUnit = false
        for character in text.lowercased() {
            if character.isNumber {
                number.append(character)
                continue
            }
            guard let value = Int(number) else { return nil }
            let unit: Int
            switch character {
            case "s": unit = 1
            case "m": unit = 60
            case "h": unit = 3600
            case "d": unit = 86400
            case "w": unit = 604800
            default: return nil
            }
            let (product, productOverflow) = value.multipliedReportingOverflow(by: unit)
            let (sum, sumOverflow) = total.addingReportingOverflow(product)
            guard !productOverflow, !sumOverflow else { return nil }
            total = sum
            number = ""
            sawUnit = true
        }
        return sawUnit && number.isEmpty ? total : nil
    }

    /// `5 MiB`, `1.2 GiB`, `800 KiB`, `120 bytes`: bytes for people (S3's `formatByteSize`, one owner).
    static func describe(bytes: Int64) -> String { formatByteSize(bytes) }
}

extension String {
    /// One decimal, without Foundation's formatters.
    init(format1 value: Double) {
        let tenths = Int((value * 10).rounded())
        self = "\(tenths / 10).\(abs(tenths % 10))"
    }
}

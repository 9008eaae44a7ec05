import Basics

/// The shared AWS `config` and `credentials` files, read exactly as botocore (the AWS CLI) reads
/// them: each file with Python's `configparser.RawConfigParser`, then botocore's profile map.
///
/// - Sections: in the config file, a header starting with `profile` split as a shell would
///   (`[profile "my profile"]` is `my profile`) and naming exactly one profile, `[default]`, and
///   `[services NAME]`; other headers (`[sso-session …]`, a bare `[NAME]`) are not profiles. When
///   `[default]` and `[profile default]` are both there, the later one in the file is the profile
///   (botocore replaces, it does not merge). In the credentials file every `[NAME]` is a profile.
/// - `key = value` or `key: value` (the first `=` or `:`), keys case-insensitive; full-line
///   comments start with `#` or `;` (a `#` inside a value is kept); a line indented deeper than its
///   key continues the value; a value that starts on the next line is a set of sub-settings
///   (`s3 =\n  addressing_style = path`); `[DEFAULT]` settings apply to every section of the file.
/// - A profile's settings are the config file's, replaced key by key by the credentials file's.
/// - What botocore refuses is refused, with the file, the line and the problem: a setting before
///   the first section (a UTF-8 byte order mark counts as text), a line that is neither a section,
///   a setting nor a comment, a section or a key given twice, a sub-setting without `=`, bytes
///   that are not UTF-8.
///
/// https://docs.aws.amazon.com/sdkref/latest/guide/file-format.html
public struct SharedConfigFiles: Sendable, Equatable {
    /// Printing or dumping a section shows its setting names only: values can be secrets.
    public struct Section: Sendable, Equatable, CustomStringConvertible, CustomReflectable {
        public var properties: [String: String] = [:]
        /// `s3 =` followed by indented lines: `subProperties["s3"]["addressing_style"]`
        /// (`properties["s3"]` is then empty).
        public var subProperties: [String: [String: String]] = [:]

        public init(properties: [String: String] = [:], subProperties: [String: [String: String]] = [:]) {
            self.properties = properties
            self.subProperties = subProperties
        }

        public subscript(_ key: String) -> String? {
            guard let value = properties[key], !value.isEmpty else { return nil }
            return value
        }

        public var description: String {
            "Section("
                + (properties.keys.sorted() + subProperties.keys.sorted().map { $0 + ".*" }).joined(separator: ", ")
                + ")"
        }

        public var customMirror: Mirror {
            Mirror(self, children: ["settings": properties.keys.sorted(), "subSettings": subProperties.keys.sorted()])
        }

        /// `other`'s settings replace these key by key, as Python's `dict.update` (sub-settings whole).
        mutating func update(with other: Section) {
            for (key, value) in other.properties {
                properties[key] = value
                subProperties[key] = other.subProperties[key]
            }
        }
    }

    public var configPath: String
    public var credentialsPath: String
    /// Whether each file existed.
    public var configFound: Bool
    public var credentialsFound: Bool
    var configProfiles: [String: Section]
    var credentialProfiles: [String: Section]
    var services: [String: Section]

    /// Reads both files; a missing file is an empty one. Throws, naming the file and the line,
    /// where botocore would refuse the file.
    public init(configPath: String, credentialsPath: String, files: any FileReader) throws {
        self.configPath = configPath
        self.credentialsPath = credentialsPath
        let config = try files.read(configPath)
        let credentials = try files.read(credentialsPath)
        configFound = config != nil
        credentialsFound = credentials != nil
        configProfiles = [:]
        services = [:]
        credentialProfiles = [:]
        // botocore's build_profile_map: later sections replace earlier ones of the same name.
        for (header, section) in try INIParser.parse(config ?? [], path: configPath) {
            if header.hasPrefix("profile") {
                if let words = shellWords(header), words.count == 2 { configProfiles[words[1]] = section }
            } else if header.hasPrefix("sso-session") {
                continue
            } else if header.hasPrefix("services") {
                if let words = shellWords(header), words.count == 2 { services[words[1]] = section }
            } else if header == "default" {
                configProfiles["default"] = section
            }
        }
        for (header, section) in try INIParser.parse(credentials ?? [], path: credentialsPath) {
            credentialProfiles[header] = section
        }
    }

    /// Whether either file has the profile (botocore's ProfileNotFound when not).
    public func hasProfile(_ name: String) -> Bool {
        configProfiles[name] != nil || credentialProfiles[name] != nil
    }

    /// The merged settings of a profile (botocore's `full_config`), or `nil` when neither file has it.
    public func profile(_ name: String) -> Section? {
        let config = configProfiles[name]
        let credentials = credentialProfiles[name]
        if config == nil && credentials == nil { return nil }
        var merged = config ?? Section()
        if let credentials { merged.update(with: credentials) }
        return merged
    }

    /// The profile's section in the config file alone.
    public func configFileProfile(_ name: String) -> Section? { configProfiles[name] }

    /// The profile's section in the credentials file alone.
    public func credentialsFileProfile(_ name: String) -> Section? { credentialProfiles[name] }

    /// A `[services NAME]` section.
    public func services(_ name: String) -> Section? { services[name] }

    /// The files as they were looked for, for messages: `~/.aws/credentials and ~/.aws/config`.
    var pathsForMessages: String { "\(credentialsPath) and \(configPath)" }
}

/// Python's `configparser.RawConfigParser` as botocore configures it (delimiters `=` and `:`,
/// full-line comments `#` and `;`, strict, empty lines kept inside values, keys lowercased),
/// followed by botocore's split of values that start on the next line into sub-settings.
///
/// https://github.com/python/cpython/blob/3.11/Lib/configparser.py (`_read`)
enum INIParser {
    /// The sections in file order, `[DEFAULT]`'s settings applied to each.
    static func parse(_ bytes: [UInt8], path: String) throws -> [(String, SharedConfigFiles.Section)] {
        func refuse(_ line: Int, _ problem: String) -> ConfigurationError {
            ConfigurationError(
                .invalidConfiguration, "\(path) line \(line): \(problem); fix the file (the AWS CLI refuses it too)")
        }
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
            throw refuse(
                1,
                "the file starts with a UTF-8 byte order mark, which the AWS CLI reads as text before the first [section]; save it without the mark"
            )
        }

        typealias Lines = [(text: String, line: Int)]
        struct RawSection {
            var name: String
            var options: [(key: String, lines: Lines)] = []
        }
        var sections: [RawSection] = []
        var defaults = RawSection(name: "DEFAULT")
        var current: Int?  // index into sections, or -1 for DEFAULT
        var option: Int?  // index of the option whose value continues
        var indentLevel = 0
        var seen: Set<String> = []  // "section" and "section\u{0}key", as configparser's elements_added
        var firstError: ConfigurationError?

        func append(_ text: String, _ line: Int) {
            guard let current, let option else { return }
            if current < 0 {
                defaults.options[option].lines.append((text, line))
            } else {
                sections[current].options[option].lines.append((text, line))
            }
        }

        for (index, rawLine) in try lines(of: bytes, path: path).enumerated() {
            let number = index + 1
            let scalars = Array(rawLine.unicodeScalars)
            let stripped = strip(scalars)
            if stripped.first == "#" || stripped.first == ";" { continue }
            if stripped.isEmpty {
                append("", number)
                continue
            }
            let indent = scalars.firstIndex { !isPythonSpace($0) } ?? 0
            if current != nil, option != nil, indent > indentLevel {
                append(String(String.UnicodeScalarView(stripped)), number)
                continue
            }
            indentLevel = indent
            if stripped.first == "[", let close = stripped.lastIndex(of: "]"), close >= 2 {
                let name = String(String.UnicodeScalarView(stripped[1..<close]))
                option = nil
                if name == "DEFAULT" {
                    current = -1
                    continue
                }
                guard !seen.contains(name) else { throw refuse(number, "the section [\(name)] appears a second time") }
                seen.insert(name)
                sections.append(RawSection(name: name))
                current = sections.count - 1
                continue
            }
            guard let section = current else {
                throw refuse(number, "a setting before the first [section] header")
            }
            guard let delimiter = stripped.firstIndex(where: { $0 == "=" || $0 == ":" }) else {
                if firstError == nil {
                    firstError = refuse(number, "the line is not [section], key = value, nor a # comment")
                }
                continue
            }
            let key = String(String.UnicodeScalarView(strip(stripped[..<delimiter]))).lowercased()
            if key.isEmpty, firstError == nil { firstError = refuse(number, "a value without a key") }
            let sectionName = section < 0 ? "DEFAULT" : sections[section].name
            guard seen.insert(sectionName + "\u{0}" + key).inserted else {
                throw refuse(number, "the key \(key) appears a second time in [\(sectionName)]")
            }
            let value = String(String.UnicodeScalarView(strip(stripped[(delimiter + 1)...])))
            if section < 0 {
                defaults.options.append((key, [(value, number)]))
                option = defaults.options.count - 1
            } else {
                sections[section].options.append((key, [(value, number)]))
                option = sections[section].options.count - 1
            }
        }
        if let firstError { throw firstError }

        func build(_ raw: RawSection, into section: inout SharedConfigFiles.Section) throws {
            for (key, lines) in raw.options {
                // configparser joins the lines with "\n" and strips the end; botocore then reads a
                // value that starts with "\n" as sub-settings.
                var kept = lines
                while let last = kept.last, last.text.isEmpty { kept.removeLast() }
                guard kept.count > 1, kept[0].text.isEmpty else {
                    section.properties[key] = kept.map(\.text).joined(separator: "\n")
                    section.subProperties[key] = nil
                    continue
                }
                var nested: [String: String] = [:]
                for (text, line) in kept.dropFirst() where !text.isEmpty {
                    guard text.contains("=") else {
                        throw refuse(
                            line, "the sub-setting \"\(text.prefix(40))\" of \(key) has no = (write name = value)")
                    }
                    let scalars = Array(text.unicodeScalars)
                    let at = scalars.firstIndex(of: "=")!
                    nested[String(String.UnicodeScalarView(strip(scalars[..<at])))] =
                        String(String.UnicodeScalarView(strip(scalars[(at + 1)...])))
                }
                section.properties[key] = ""
                section.subProperties[key] = nested
            }
        }
        var common = SharedConfigFiles.Section()
        try build(defaults, into: &common)
        return try sections.map { raw in
            var section = common
            try build(raw, into: &section)
            return (raw.name, section)
        }
    }

    /// The file's lines (ended by `\n`, `\r\n` or `\r`, as Python's text mode reads them), each
    /// checked to be UTF-8.
    private static func lines(of bytes: [UInt8], path: String) throws -> [String] {
        var result: [String] = []
        var start = 0
        var index = 0
        func take(_ end: Int) throws {
            guard let line = String(validating: bytes[start..<end], as: UTF8.self) else {
                throw ConfigurationError(
                    .invalidConfiguration,
                    "\(path) line \(result.count + 1): bytes that are not UTF-8; save the file as UTF-8 (the AWS CLI refuses it too)"
                )
            }
            result.append(line)
        }
        while index < bytes.count {
            if bytes[index] == 0x0A || bytes[index] == 0x0D {
                try take(index)
                if bytes[index] == 0x0D, index + 1 < bytes.count, bytes[index + 1] == 0x0A { index += 1 }
                start = index + 1
            }
            index += 1
        }
        if start < bytes.count { try take(bytes.count) }
        return result
    }

    /// Python's `str.strip()`: white space as `str.isspace()` sees it off both ends.
    private static func strip<C: BidirectionalCollection>(_ scalars: C) -> C.SubSequence
    where C.Element == Unicode.Scalar {
        var start = scalars.startIndex
        var end = scalars.endIndex
        while start < end, isPythonSpace(scalars[start]) { start = scalars.index(after: start) }
        while end > start, isPythonSpace(scalars[scalars.index(before: end)]) { end = scalars.index(before: end) }
        return scalars[start..<end]
    }

    /// Python's `str.isspace()` for one character: Unicode white space plus the separators U+001C…U+001F.
    private static func isPythonSpace(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isWhitespace || (0x1C...0x1F).contains(scalar.value)
    }
}

/// Python's `shlex.split` (POSIX mode, no comments), as botocore splits section headers (and as
/// the Lambda runtime splits `S3TRANSCODE_ARGS`): `nil` where Python raises (an unclosed quote, a
/// trailing backslash).
public func shellWords(_ text: String) -> [String]? {
    var words: [String] = []
    var word = ""
    var inWord = false
    var scalars = Array(text.unicodeScalars)[...]
    while let c = scalars.popFirst() {
        switch c {
        case " ", "\t", "\r", "\n":
            if inWord {
                words.append(word)
                word = ""
                inWord = false
            }
        case "\\":
            guard let next = scalars.popFirst() else { return nil }
            word.unicodeScalars.append(next)
            inWord = true
        case "'":
            inWord = true
            guard let close = scalars.firstIndex(of: "'") else { return nil }
            word.unicodeScalars.append(contentsOf: scalars[..<close])
            scalars = scalars[(close + 1)...]
        case "\"":
            inWord = true
            var closed = false
            while let q = scalars.popFirst() {
                if q == "\"" {
                    closed = true
                    break
                }
                if q == "\\", let next = scalars.first, next == "\"" || next == "\\" {
                    word.unicodeScalars.append(next)
                    scalars = scalars.dropFirst()
                } else {
                    word.unicodeScalars.append(q)
                }
            }
            if !closed { return nil }
        default:
            word.unicodeScalars.append(c)
            inWord = true
        }
    }
    if inWord { words.append(word) }
    return words
}

extension StringProtocol {
    /// Without the spaces, tabs and carriage returns around it, as botocore strips config values.
    func trimmingSpaces() -> SubSequence { trimming { $0 == " " || $0 == "\t" || $0 == "\r" } }
}

/// The shared AWS `config` and `credentials` files, parsed as the AWS CLI and SDKs read them.
///
/// - Sections: `[profile NAME]` (and `[default]`) in the config file, `[NAME]` in the credentials
///   file, `[services NAME]` in the config file. Anything else (`[sso-session …]`, a bare `[NAME]`
///   in the config file) is ignored, as the SDKs do.
/// - `key = value`, keys case-insensitive; lines starting with `#` or `;` are comments; a
///   property with an empty value followed by indented `key = value` lines has sub-properties
///   (`s3 =\n  addressing_style = path`); other indented lines continue the previous value.
/// - A profile's settings are the config file's, overridden key by key by the credentials file's.
///
/// https://docs.aws.amazon.com/sdkref/latest/guide/file-format.html
public struct SharedConfigFiles: Sendable, Equatable {
    /// Printing or dumping a section shows its setting names only: values can be secrets.
    public struct Section: Sendable, Equatable, CustomStringConvertible, CustomReflectable {
        public var properties: [String: String] = [:]
        /// `s3 =` followed by indented lines: `subProperties["s3"]["addressing_style"]`.
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
            "Section(" + (properties.keys.sorted() + subProperties.keys.sorted().map { $0 + ".*" }).joined(separator: ", ") + ")"
        }

        public var customMirror: Mirror {
            Mirror(self, children: ["settings": properties.keys.sorted(), "subSettings": subProperties.keys.sorted()])
        }

        mutating func merge(_ other: Section) {
            properties.merge(other.properties) { _, new in new }
            subProperties.merge(other.subProperties) { old, new in old.merging(new) { _, n in n } }
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

    /// Reads both files; a missing file is an empty one.
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
        var defaultFromPrefixed: Section?
        for (header, section) in Self.parse(String(decoding: config ?? [], as: UTF8.self)) {
            let words = header.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if words.count == 2 && words[0] == "profile" {
                let name = String(words[1])
                if name == "default" { defaultFromPrefixed = section } else { configProfiles[name, default: Section()].merge(section) }
            } else if words.count == 2 && words[0] == "services" {
                services[String(words[1]), default: Section()].merge(section)
            } else if header == "default" {
                configProfiles["default", default: Section()].merge(section)
            }
        }
        // `[profile default]` wins over `[default]` in the config file.
        if let defaultFromPrefixed { configProfiles["default", default: Section()].merge(defaultFromPrefixed) }
        for (header, section) in Self.parse(String(decoding: credentials ?? [], as: UTF8.self)) {
            credentialProfiles[header, default: Section()].merge(section)
        }
    }

    /// The merged settings of a profile, or `nil` when neither file has it.
    public func profile(_ name: String) -> Section? {
        let config = configProfiles[name]
        let credentials = credentialProfiles[name]
        if config == nil && credentials == nil { return nil }
        var merged = config ?? Section()
        if let credentials { merged.merge(credentials) }
        return merged
    }

    /// A `[services NAME]` section.
    public func services(_ name: String) -> Section? { services[name] }

    /// The files as they were looked for, for messages: `~/.aws/credentials and ~/.aws/config`.
    var pathsForMessages: String { "\(credentialsPath) and \(configPath)" }

    /// Splits an INI text into `(section header, section)` in file order.
    static func parse(_ text: String) -> [(String, Section)] {
        var result: [(String, Section)] = []
        var current: (header: String, section: Section)?
        var lastKey: String?
        func flush() {
            if let current { result.append(current) }
        }
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            let trimmed = line.trimmingSpaces()
            if trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed.hasPrefix(";") { continue }
            let indented = line.first == " " || line.first == "\t"
            if !indented && trimmed.hasPrefix("[") {
                flush()
                lastKey = nil
                guard let close = trimmed.firstIndex(of: "]") else { current = nil; continue }
                let header = trimmed[trimmed.index(after: trimmed.startIndex)..<close].trimmingSpaces()
                current = (String(header), Section())
                continue
            }
            guard current != nil else { continue }
            if indented, let key = lastKey {
                if current!.section.properties[key]?.isEmpty ?? true, let equals = trimmed.firstIndex(of: "=") {
                    let subKey = trimmed[..<equals].trimmingSpaces().lowercased()
                    let value = trimmed[trimmed.index(after: equals)...].trimmingSpaces()
                    current!.section.subProperties[key, default: [:]][subKey] = String(value)
                    current!.section.properties[key] = ""
                } else if current!.section.subProperties[key] == nil {
                    current!.section.properties[key, default: ""] += "\n" + trimmed
                }
                continue
            }
            guard let equals = trimmed.firstIndex(of: "=") else { lastKey = nil; continue }
            let key = trimmed[..<equals].trimmingSpaces().lowercased()
            let value = trimmed[trimmed.index(after: equals)...].trimmingSpaces()
            guard !key.isEmpty else { lastKey = nil; continue }
            current!.section.properties[key] = String(value)
            current!.section.subProperties[key] = nil
            lastKey = key
        }
        flush()
        return result
    }
}

extension StringProtocol {
    func trimmingSpaces() -> SubSequence {
        var start = startIndex
        var end = endIndex
        while start < end, self[start] == " " || self[start] == "\t" || self[start] == "\r" { start = index(after: start) }
        while end > start, self[index(before: end)] == " " || self[index(before: end)] == "\t" || self[index(before: end)] == "\r" {
            end = index(before: end)
        }
        return self[start..<end]
    }
}

// The part of FoundationEssentials that swift-argument-parser uses, for the release build only.
//
// ArgumentParser 1.8 imports FoundationEssentials in one file (Utilities/Foundation.swift) for two
// things: `LocalizedError`, to describe a thrown error, and `JSONEncoder`, for
// `--experimental-dump-help`. Linking FoundationEssentials for them costs the static binary 7.5 MB
// (its members reference one another through Swift metadata, and pull _FoundationCollections and
// the Regex runtime along). Scripts/build-release.sh compiles this file into a module
// `FoundationStandIn` and builds with `-module-alias FoundationEssentials=FoundationStandIn`
// (SE-0339), so ArgumentParser's import resolves here. Nothing else in the release build imports
// FoundationEssentials (build-release.sh fails if the link map shows it); should ArgumentParser use
// more of it, the release build stops with a compile error naming what is missing.
//
// `JSONEncoding` is Sources/Basics/JSONEncoding.swift, compiled into this module beside this file.

/// Foundation's protocol: ArgumentParser prints `errorDescription` for errors that adopt it. The
/// tool's errors do not (they are `CustomStringConvertible`), in either build.
public protocol LocalizedError: Error {
    var errorDescription: String? { get }
}

extension LocalizedError {
    public var errorDescription: String? { nil }
}

public struct Data {
    public var bytes: [UInt8]
}

/// One line of JSON whatever the formatting asked for (ArgumentParser asks for pretty printing).
public final class JSONEncoder {
    public struct OutputFormatting: OptionSet, Sendable {
        public let rawValue: UInt
        public init(rawValue: UInt) { self.rawValue = rawValue }
        public static let prettyPrinted = OutputFormatting(rawValue: 1)
        public static let sortedKeys = OutputFormatting(rawValue: 2)
    }

    public var outputFormatting: OutputFormatting = []

    public init() {}

    public func encode<T: Encodable>(_ value: T) throws -> Data {
        Data(bytes: Array(try JSONEncoding.encode(value).utf8))
    }
}

extension String {
    public struct Encoding: Sendable {
        public static let utf8 = Encoding()
    }

    public init?(data: Data, encoding: Encoding) {
        self.init(validating: data.bytes, as: UTF8.self)
    }
}

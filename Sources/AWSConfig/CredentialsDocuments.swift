import Basics
import SigV4

/// The JSON credential documents of the container endpoint, IMDS and `credential_process`.
struct CredentialsDocument {
    var version: Int?
    var code: String?
    var accessKeyId: String?
    var secretAccessKey: String?
    var token: String?
    var sessionToken: String?
    var expiration: String?

    /// Decodes the document; `what` names its origin in messages (never its content: it holds secrets).
    static func decode(_ bytes: [UInt8], what: String) throws -> CredentialsDocument {
        guard let document = (try? JSONValue.parse(bytes))?.object, let parsed = CredentialsDocument(document) else {
            throw ConfigurationError(
                .invalidConfiguration,
                "\(what) did not return a JSON credentials document (\(bytes.count) bytes that do not parse)")
        }
        return parsed
    }

    /// Reads the fields by their AWS names: nil when one is present with the wrong JSON type.
    init?(_ document: [String: JSONValue]) {
        var wrongType = false
        func field<T>(_ name: String, _ read: (JSONValue) -> T?) -> T? {
            guard let value = document[name], value != .null else { return nil }
            let typed = read(value)
            if typed == nil { wrongType = true }
            return typed
        }
        version = field("Version") { $0.number.flatMap { Int(exactly: $0) } }
        code = field("Code") { $0.string }
        accessKeyId = field("AccessKeyId") { $0.string }
        secretAccessKey = field("SecretAccessKey") { $0.string }
        token = field("Token") { $0.string }
        sessionToken = field("SessionToken") { $0.string }
        expiration = field("Expiration") { $0.string }
        if wrongType { return nil }
    }

    func credentials(what: String) throws -> Credentials {
        guard let accessKeyId, !accessKeyId.isEmpty, let secretAccessKey, !secretAccessKey.isEmpty else {
            throw ConfigurationError(.invalidConfiguration, "\(what) returned no AccessKeyId or SecretAccessKey")
        }
        var expires: Timestamp?
        if let expiration {
            guard let parsed = AmzDate.parseISO8601(expiration) else {
                throw ConfigurationError(
                    .invalidConfiguration, "\(what) returned an unreadable Expiration (\(expiration))")
            }
            expires = parsed
        }
        let session = sessionToken ?? token
        return Credentials(
            accessKeyId: accessKeyId, secretAccessKey: secretAccessKey,
            sessionToken: session?.isEmpty == true ? nil : session, expiration: expires)
    }
}

/// The few leaf elements of STS's XML answers, found with a small scanner.
///
/// Why no XML parser: STS answers are a handful of fixed, attribute-free leaf elements (S3's own
/// XML goes through expat, in the S3 target).
enum XMLLeaf {
    /// The text of the first `<name>…</name>` element, entities decoded.
    static func text(_ name: String, in xml: String) -> String? {
        guard let open = xml.firstRange(of: "<\(name)>"),
            let close = xml[open.upperBound...].firstRange(of: "</\(name)>")
        else { return nil }
        return unescape(xml[open.upperBound..<close.lowerBound])
    }

    static func unescape(_ text: Substring) -> String {
        guard text.contains("&") else { return String(text) }
        var out = ""
        var rest = text[...]
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            guard let semi = rest[amp...].firstIndex(of: ";") else { break }
            let entity = rest[rest.index(after: amp)..<semi]
            switch entity {
            case "amp": out += "&"
            case "lt": out += "<"
            case "gt": out += ">"
            case "quot": out += "\""
            case "apos": out += "'"
            default:
                if entity.hasPrefix("#x"), let code = UInt32(entity.dropFirst(2), radix: 16),
                    let scalar = Unicode.Scalar(code)
                {
                    out.unicodeScalars.append(scalar)
                } else if entity.hasPrefix("#"), let code = UInt32(entity.dropFirst()),
                    let scalar = Unicode.Scalar(code)
                {
                    out.unicodeScalars.append(scalar)
                } else {
                    out += rest[amp...semi]
                }
            }
            rest = rest[rest.index(after: semi)...]
        }
        return out + rest
    }
}

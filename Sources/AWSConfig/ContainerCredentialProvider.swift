import Basics
import HTTPClient
import SigV4

/// ECS / EKS Pod Identity / Greengrass container credentials:
/// `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (against `http://169.254.170.2`) or
/// `AWS_CONTAINER_CREDENTIALS_FULL_URI`, with an `Authorization` header from
/// `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` (read on every call) or `AWS_CONTAINER_AUTHORIZATION_TOKEN`.
///
/// A full URI over plain HTTP must point at a loopback address or at the ECS/EKS link-local
/// hosts, as the SDKs require.
/// https://docs.aws.amazon.com/sdkref/latest/guide/feature-container-credentials.html
public struct ContainerCredentialProvider: CredentialProvider {
    public static let ecsHost = "http://169.254.170.2"
    let environment: Environment
    let transport: any HTTPTransport
    let files: any FileReader

    public init(environment: [String: String], transport: any HTTPTransport, files: any FileReader) {
        self.environment = Environment(values: environment)
        self.transport = transport
        self.files = files
    }

    public var source: String { "container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, _FULL_URI)" }

    /// The URL to ask, or `nil` when no container credentials are configured.
    func endpoint() throws -> String? {
        if let relative = environment["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] {
            return Self.ecsHost + (relative.hasPrefix("/") ? "" : "/") + relative
        }
        guard let full = environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"] else { return nil }
        let lower = full.lowercased()
        if lower.hasPrefix("https://") { return full }
        guard lower.hasPrefix("http://") else {
            throw ConfigurationError(
                .invalidConfiguration,
                "AWS_CONTAINER_CREDENTIALS_FULL_URI (\(Redact.url(full))) is not an http or https URL")
        }
        let authority = lower.dropFirst(7).prefix { $0 != "/" && $0 != "?" }
        var host = authority
        if let at = host.lastIndex(of: "@") { host = host[host.index(after: at)...] }
        if host.hasPrefix("[") {
            host = host.prefix { $0 != "]" }.dropFirst()
        } else if let colon = host.firstIndex(of: ":") {
            host = host[..<colon]
        }
        let allowed =
            host == "localhost" || host.hasPrefix("127.") || host == "::1"
            || host == "169.254.170.2" || host == "169.254.170.23" || host == "fd00:ec2::23"
        guard allowed else {
            throw ConfigurationError(
                .invalidConfiguration,
                "AWS_CONTAINER_CREDENTIALS_FULL_URI (\(Redact.url(full))) uses plain http to a host that is not loopback or the container agent; use https"
            )
        }
        return full
    }

    func authorization() throws -> String? {
        if let path = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] {
            guard let bytes = try files.read(path) else {
                throw ConfigurationError(
                    .invalidConfiguration,
                    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE names \(path), which does not exist")
            }
            return String(String(decoding: bytes, as: UTF8.self).trimming(while: \.isWhitespace))
        }
        return environment["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
    }

    public func credentials() throws -> Credentials? {
        guard let url = try endpoint() else { return nil }
        var headers: [(name: String, value: String)] = [("Accept", "application/json")]
        if let token = try authorization() {
            guard !token.contains("\r"), !token.contains("\n") else {
                throw ConfigurationError(
                    .invalidConfiguration,
                    "the container authorization token contains a line break; check AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE]"
                )
            }
            headers.append(("Authorization", token))
        }
        let what = "the container credentials endpoint \(Redact.url(url))"
        var failure = ""
        for _ in 1...3 {
            do {
                let response = try transport.send(HTTPRequest(method: "GET", url: url, headers: headers))
                if response.status == 200 {
                    return try CredentialsDocument.decode(response.body, what: what).credentials(what: what)
                }
                failure = "HTTP \(response.status)"
                if response.status < 500 && response.status != 429 { break }
            } catch let error as TransportError {
                failure = error.message
                if error.kind == .cancelled { break }
            }
        }
        throw ConfigurationError(.unavailable, "\(what) failed (\(failure)); check the container's credentials agent")
    }
}

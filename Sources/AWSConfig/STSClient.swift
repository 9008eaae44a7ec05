import HTTPClient
import SigV4

#if canImport(Glibc)
    import Glibc
#endif

/// The two STS calls credential providers need: AssumeRole (signed with the source credentials)
/// and AssumeRoleWithWebIdentity (unsigned; the web identity token is the proof).
///
/// - https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
/// - https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html
public struct STSClient: Sendable {
    /// `scheme://host[:port]` of STS: `AWS_ENDPOINT_URL_STS`, the global endpoint override, the
    /// profile's, else `https://sts.REGION.amazonaws.com` (the SDKs' regional default).
    public var endpoint: String
    public var region: String
    public var transport: any HTTPTransport
    public var clock: any WallClock
    /// Attempts per call: transport failures, 5xx and throttling are retried.
    public var maxAttempts: Int = 3

    public init(endpoint: String, region: String, transport: any HTTPTransport, clock: any WallClock) {
        var trimmed = endpoint
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        self.endpoint = trimmed
        self.region = region
        self.transport = transport
        self.clock = clock
    }

    /// The regional STS endpoint of AWS for a region.
    public static func defaultEndpoint(region: String) -> String {
        "https://sts.\(region).amazonaws.com" + (region.hasPrefix("cn-") ? ".cn" : "")
    }

    public func assumeRole(
        roleArn: String, sessionName: String, externalId: String? = nil, durationSeconds: Int? = nil,
        using source: Credentials
    ) throws -> Credentials {
        var form: [(name: String, value: String?)] = [
            ("Action", "AssumeRole"), ("Version", "2011-06-15"), ("RoleArn", roleArn), ("RoleSessionName", sessionName),
        ]
        if let externalId { form.append(("ExternalId", externalId)) }
        if let durationSeconds { form.append(("DurationSeconds", String(durationSeconds))) }
        return try call(action: "AssumeRole", roleArn: roleArn, form: form, signWith: source)
    }

    public func assumeRoleWithWebIdentity(roleArn: String, sessionName: String, webIdentityToken: String) throws
        -> Credentials
    {
        let form: [(name: String, value: String?)] = [
            ("Action", "AssumeRoleWithWebIdentity"), ("Version", "2011-06-15"), ("RoleArn", roleArn),
            ("RoleSessionName", sessionName), ("WebIdentityToken", webIdentityToken),
        ]
        return try call(action: "AssumeRoleWithWebIdentity", roleArn: roleArn, form: form, signWith: nil)
    }

    private func call(
        action: String, roleArn: String, form: [(name: String, value: String?)], signWith source: Credentials?
    ) throws -> Credentials {
        let body = Array(S3Path.query(form).utf8)
        let url = endpoint + "/"
        var lastError: ConfigurationError?
        for attempt in 1...max(1, maxAttempts) {
            if attempt > 1 { usleep(UInt32(min(100_000 << (attempt - 2), 2_000_000))) }
            var headers: [(name: String, value: String)] = [
                ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
            ]
            if let source {
                headers = SigV4Signer(credentials: source, region: region, service: "sts").signedHeaders(
                    method: "POST", url: url, headers: headers, payloadHash: PayloadHasher.hash(body), date: clock.now()
                )
            }
            let response: HTTPResponse
            do {
                response = try transport.send(HTTPRequest(method: "POST", url: url, headers: headers), body: body)
            } catch let error as TransportError {
                lastError = ConfigurationError(
                    .unavailable,
                    "STS \(action) for \(roleArn) failed: cannot reach \(Redact.url(endpoint)) (\(error.message)); check the network or AWS_ENDPOINT_URL_STS"
                )
                if error.kind == .cancelled { break }
                continue
            }
            let xml = String(decoding: response.body, as: UTF8.self)
            if response.status == 200 {
                guard let id = XMLLeaf.text("AccessKeyId", in: xml),
                    let secret = XMLLeaf.text("SecretAccessKey", in: xml)
                else {
                    throw ConfigurationError(
                        .unavailable, "STS \(action) for \(roleArn) answered without credentials; try again later")
                }
                let expiration = XMLLeaf.text("Expiration", in: xml)
                return Credentials(
                    accessKeyId: id, secretAccessKey: secret,
                    sessionToken: XMLLeaf.text("SessionToken", in: xml),
                    expiration: expiration.flatMap(AmzDate.parseISO8601))
            }
            let code = XMLLeaf.text("Code", in: xml) ?? "HTTP \(response.status)"
            let message = XMLLeaf.text("Message", in: xml).map { ": \($0)" } ?? ""
            let retryable = response.status >= 500 || code == "Throttling" || code == "IDPCommunicationError"
            let error = ConfigurationError(
                retryable ? .unavailable : .credentialsRejected,
                "STS \(action) for \(roleArn) was refused (\(code)\(message)); check the role's trust policy and the source credentials"
            )
            if !retryable { throw error }
            lastError = error
        }
        throw lastError ?? ConfigurationError(.unavailable, "STS \(action) for \(roleArn) failed; try again later")
    }
}

import HTTPClient
import SigV4

/// EC2 instance metadata (IMDSv2): PUT a session token, GET the role name, GET the role's
/// credentials. Off with `AWS_EC2_METADATA_DISABLED=true`. The endpoint is
/// `AWS_EC2_METADATA_SERVICE_ENDPOINT` (or the profile's `ec2_metadata_service_endpoint`), else
/// `http://169.254.169.254` (`http://[fd00:ec2::254]` with endpoint mode `IPv6`). Falls back to
/// IMDSv1 when the token call is refused with 403/404/405, unless `AWS_EC2_METADATA_V1_DISABLED=true`
/// (as botocore does).
///
/// An unreachable IMDS means "not on EC2": the chain moves on. Give this provider a transport with
/// a short connect timeout (the SDKs use 1 s), or the last step of a failing chain waits for it.
/// https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-retrieval.html
public struct InstanceMetadataCredentialProvider: CredentialProvider {
    public var endpoint: String
    public var disabled: Bool
    public var v1Disabled: Bool
    let transport: any HTTPTransport

    public init(environment: [String: String], profile: SharedConfigFiles.Section?, transport: any HTTPTransport) {
        let env = Environment(values: environment)
        disabled = env.isTrue("AWS_EC2_METADATA_DISABLED")
        v1Disabled = env.isTrue("AWS_EC2_METADATA_V1_DISABLED") || profile?["ec2_metadata_v1_disabled"]?.lowercased() == "true"
        let mode = env["AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"] ?? profile?["ec2_metadata_service_endpoint_mode"]
        var endpoint = env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] ?? profile?["ec2_metadata_service_endpoint"]
            ?? (mode?.lowercased() == "ipv6" ? "http://[fd00:ec2::254]" : "http://169.254.169.254")
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        self.endpoint = endpoint
        self.transport = transport
    }

    public var source: String {
        disabled ? "EC2 instance metadata (disabled by AWS_EC2_METADATA_DISABLED)" : "EC2 instance metadata (\(endpoint))"
    }

    public func credentials() throws -> Credentials? {
        if disabled { return nil }
        let token: String?
        do {
            let response = try transport.send(
                HTTPRequest(method: "PUT", url: endpoint + "/latest/api/token",
                            headers: [("x-aws-ec2-metadata-token-ttl-seconds", "21600")]))
            switch response.status {
            case 200:
                token = String(decoding: response.body, as: UTF8.self)
            case 403, 404, 405:
                if v1Disabled { return nil }
                token = nil
            default:
                return nil
            }
        } catch is TransportError {
            return nil // not on EC2, or IMDS unreachable
        }
        var headers: [(name: String, value: String)] = []
        if let token { headers.append(("x-aws-ec2-metadata-token", token)) }
        let base = endpoint + "/latest/meta-data/iam/security-credentials/"
        let what = "EC2 instance metadata (\(endpoint))"
        let roleResponse: HTTPResponse
        do {
            roleResponse = try transport.send(HTTPRequest(method: "GET", url: base, headers: headers))
        } catch let error as TransportError {
            throw ConfigurationError(.unavailable, "\(what) stopped answering (\(error.message)); try again")
        }
        if roleResponse.status == 404 { return nil } // no instance profile attached
        guard roleResponse.status == 200 else {
            throw ConfigurationError(.unavailable, "\(what) refused the role name (HTTP \(roleResponse.status)); check the instance's metadata options")
        }
        let role = String(decoding: roleResponse.body, as: UTF8.self)
            .split(whereSeparator: { $0 == "\n" || $0 == "\r" }).first.map { String($0.trimmingSpaces()) } ?? ""
        if role.isEmpty { return nil }
        let credentialsResponse: HTTPResponse
        do {
            credentialsResponse = try transport.send(
                HTTPRequest(method: "GET", url: base + S3Path.encodeQueryComponent(role), headers: headers))
        } catch let error as TransportError {
            throw ConfigurationError(.unavailable, "\(what) stopped answering (\(error.message)); try again")
        }
        guard credentialsResponse.status == 200 else {
            throw ConfigurationError(.unavailable, "\(what) refused the credentials of role \(role) (HTTP \(credentialsResponse.status)); try again")
        }
        let document = try CredentialsDocument.decode(credentialsResponse.body, what: what)
        if let code = document.code, code != "Success" {
            throw ConfigurationError(.unavailable, "\(what) answered \(code) for role \(role); check the instance profile")
        }
        return try document.credentials(what: what)
    }
}

import HTTPClient
import SigV4
import Synchronization

/// EC2 instance metadata (IMDSv2): PUT a session token, GET the role name, GET the role's
/// credentials. Off with `AWS_EC2_METADATA_DISABLED=true`. The endpoint is
/// `AWS_EC2_METADATA_SERVICE_ENDPOINT` (or the profile's `ec2_metadata_service_endpoint`), else
/// `http://169.254.169.254` (`http://[fd00:ec2::254]` with endpoint mode `IPv6`). Falls back to
/// IMDSv1 when the token call is refused with 403/404/405, unless `AWS_EC2_METADATA_V1_DISABLED=true`
/// (as botocore does).
///
/// An unreachable IMDS means "not on EC2", and any refusal or failure after the token (a 403 for
/// the role, no instance profile, a document without keys) means "no credentials here": the chain
/// moves on and ends in "no credentials" (exit 78), as botocore's InstanceMetadataFetcher does;
/// `source` then says what IMDS answered. Give this provider a transport with a short connect
/// timeout (the SDKs use 1 s), or the last step of a failing chain waits for it.
/// https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-retrieval.html
public struct InstanceMetadataCredentialProvider: CredentialProvider {
    public var endpoint: String
    public var disabled: Bool
    public var v1Disabled: Bool
    let transport: any HTTPTransport
    /// Why the last call found nothing, for the "no credentials" message.
    private let outcome = Outcome()

    private final class Outcome: Sendable {
        let text = Mutex<String?>(nil)
    }

    public init(environment: [String: String], profile: SharedConfigFiles.Section?, transport: any HTTPTransport) {
        let env = Environment(values: environment)
        disabled = env.isTrue("AWS_EC2_METADATA_DISABLED")
        v1Disabled =
            env.isTrue("AWS_EC2_METADATA_V1_DISABLED") || profile?["ec2_metadata_v1_disabled"]?.lowercased() == "true"
        let mode = env["AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"] ?? profile?["ec2_metadata_service_endpoint_mode"]
        var endpoint =
            env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] ?? profile?["ec2_metadata_service_endpoint"]
            ?? (mode?.lowercased() == "ipv6" ? "http://[fd00:ec2::254]" : "http://169.254.169.254")
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        self.endpoint = endpoint
        self.transport = transport
    }

    public var source: String {
        if disabled { return "EC2 instance metadata (disabled by AWS_EC2_METADATA_DISABLED)" }
        return "EC2 instance metadata (\(endpoint))" + (outcome.text.withLock { $0 }.map { ", which \($0)" } ?? "")
    }

    public func credentials() throws -> Credentials? {
        if disabled { return nil }
        outcome.text.withLock { $0 = nil }
        func nothing(_ why: String) -> Credentials? {
            outcome.text.withLock { $0 = why }
            return nil
        }
        let token: String?
        do {
            let response = try transport.send(
                HTTPRequest(
                    method: "PUT", url: endpoint + "/latest/api/token",
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
            return nil  // not on EC2, or IMDS unreachable
        }
        var headers: [(name: String, value: String)] = []
        if let token { headers.append(("x-aws-ec2-metadata-token", token)) }
        let base = endpoint + "/latest/meta-data/iam/security-credentials/"
        let what = "EC2 instance metadata (\(endpoint))"
        guard let roleResponse = try? transport.send(HTTPRequest(method: "GET", url: base, headers: headers)) else {
            return nothing("stopped answering")
        }
        guard roleResponse.status == 200 else {
            // 404: no instance profile attached; 403: metadata access refused.
            return nothing("answered HTTP \(roleResponse.status) for the instance profile's role")
        }
        let role =
            String(decoding: roleResponse.body, as: UTF8.self)
            .split(whereSeparator: { $0 == "\n" || $0 == "\r" }).first.map { String($0.trimmingSpaces()) } ?? ""
        if role.isEmpty { return nothing("named no instance profile role") }
        guard
            let credentialsResponse = try? transport.send(
                HTTPRequest(method: "GET", url: base + S3Path.encodeQueryComponent(role), headers: headers)),
            credentialsResponse.status == 200
        else {
            return nothing("did not give the credentials of role \(role)")
        }
        guard let document = try? CredentialsDocument.decode(credentialsResponse.body, what: what),
            document.code == nil || document.code == "Success",
            let credentials = try? document.credentials(what: what)
        else {
            return nothing("answered no usable credentials for role \(role)")
        }
        return credentials
    }
}

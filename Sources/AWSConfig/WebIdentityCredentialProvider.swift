import Basics
import SigV4

/// STS AssumeRoleWithWebIdentity with a token read from a file (EKS IRSA, GitHub OIDC …):
/// `AWS_WEB_IDENTITY_TOKEN_FILE`, `AWS_ROLE_ARN`, `AWS_ROLE_SESSION_NAME`, each falling back to the
/// profile's `web_identity_token_file`, `role_arn`, `role_session_name` (as botocore does).
/// The token file is read again on every call: it is rotated by whoever writes it.
public struct WebIdentityCredentialProvider: CredentialProvider {
    public var tokenFile: String?
    public var roleArn: String?
    public var sessionName: String?
    let sts: STSClient
    let files: any FileReader

    public init(tokenFile: String?, roleArn: String?, sessionName: String?, sts: STSClient, files: any FileReader) {
        self.tokenFile = tokenFile
        self.roleArn = roleArn
        self.sessionName = sessionName
        self.sts = sts
        self.files = files
    }

    public var source: String { "web identity (AWS_WEB_IDENTITY_TOKEN_FILE)" }

    public func credentials() throws -> Credentials? {
        guard let tokenFile else { return nil }
        guard let roleArn else {
            throw ConfigurationError(
                .invalidConfiguration,
                "a web identity token file is configured (\(tokenFile)) but no role; set AWS_ROLE_ARN or the profile's role_arn"
            )
        }
        guard let bytes = try files.read(tokenFile) else {
            throw ConfigurationError(
                .invalidConfiguration,
                "the web identity token file \(tokenFile) does not exist; check AWS_WEB_IDENTITY_TOKEN_FILE")
        }
        let token = String(decoding: bytes, as: UTF8.self).trimming(while: \.isWhitespace)
        guard !token.isEmpty else {
            throw ConfigurationError(.invalidConfiguration, "the web identity token file \(tokenFile) is empty")
        }
        let name = sessionName ?? "s3transcode-\(Int(sts.clock.now().timeIntervalSince1970))"
        return try sts.assumeRoleWithWebIdentity(roleArn: roleArn, sessionName: name, webIdentityToken: String(token))
    }
}

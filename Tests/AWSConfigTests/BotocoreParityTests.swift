import AWSConfig
import Basics
import Foundation
import HTTPClient
import S3
import S3TranscodeCommands
import SigV4
import Testing

/// One configuration: the files, the environment and the flags. `@DIR@` in any text or variable
/// is the case's temporary directory; `config` and `credentials` are written there as the files
/// `AWS_CONFIG_FILE` and `AWS_SHARED_CREDENTIALS_FILE` name (unless the case sets them).
struct ParityCase: Sendable {
    var name: String
    var config: String?
    var credentials: String?
    var env: [String: String] = [:]
    var profile: String?
    var region: String?
    var endpointURL: String?
    var buckets: [String] = ["my-bucket"]
    /// More files in the directory: token files, `credential_process` scripts (`*.sh`, executable).
    var files: [String: String] = [:]
}

/// What a configuration resolves to, as text that botocore's answer and ours both produce.
struct ParityOutcome: Equatable, CustomStringConvertible {
    /// `keys(AKID, token)`, `assume-role(ROLE, <source>[, ExternalId=…][, DurationSeconds=…])`,
    /// `web-identity(ROLE, TOKEN)`, `none`.
    var credentials: String
    var region: String
    /// The URL of key `k` in each bucket (endpoint and addressing style).
    var urls: [String: String]
    var error: Bool

    static let refused = ParityOutcome(credentials: "", region: "", urls: [:], error: true)

    var description: String {
        error ? "error" : "credentials \(credentials), region \(region), urls \(urls.sorted { $0.key < $1.key })"
    }
}

/// A credential_process script printing fixed keys.
func processScript(_ id: String, token: Bool = false) -> String {
    "#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"\(id)\", \"SecretAccessKey\": \"s\"\(token ? ", \"SessionToken\": \"t\"" : "")}'\n"
}

let keysAndProcess = """
    [default]
    aws_access_key_id = AKIDCONFIG
    aws_secret_access_key = c
    credential_process = @DIR@/process.sh
    [profile dev]
    aws_access_key_id = AKIDDEVCONFIG
    aws_secret_access_key = c
    region = eu-west-3
    [profile role]
    role_arn = arn:aws:iam::123456789012:role/Role
    source_profile = base
    [profile base]
    aws_access_key_id = AKIDBASECONFIG
    aws_secret_access_key = c
    role_arn = arn:aws:iam::123456789012:role/BaseOwnRole
    source_profile = other
    [profile other]
    aws_access_key_id = AKIDOTHER
    aws_secret_access_key = c
    [profile chain]
    role_arn = arn:aws:iam::123456789012:role/Chain
    source_profile = roleonly
    [profile roleonly]
    role_arn = arn:aws:iam::123456789012:role/RoleOnly
    source_profile = other
    [profile self]
    role_arn = arn:aws:iam::123456789012:role/Self
    source_profile = self
    aws_access_key_id = AKIDSELF
    aws_secret_access_key = c
    [profile loop1]
    role_arn = arn:aws:iam::123456789012:role/L1
    source_profile = loop2
    [profile loop2]
    role_arn = arn:aws:iam::123456789012:role/L2
    source_profile = loop1
    [profile fromenv]
    role_arn = arn:aws:iam::123456789012:role/FromEnv
    credential_source = Environment
    [profile web]
    role_arn = arn:aws:iam::123456789012:role/Web
    web_identity_token_file = @DIR@/profile-token
    [profile procsource]
    role_arn = arn:aws:iam::123456789012:role/ProcSource
    source_profile = proc
    [profile proc]
    credential_process = @DIR@/process.sh
    [profile extras]
    role_arn = arn:aws:iam::123456789012:role/Extras
    source_profile = other
    external_id = ext-42
    duration_seconds = 1800
    [profile badduration]
    role_arn = arn:aws:iam::123456789012:role/BadDuration
    source_profile = other
    duration_seconds = an hour
    [profile fromimds]
    role_arn = arn:aws:iam::123456789012:role/FromIMDS
    credential_source = Ec2InstanceMetadata
    [profile badsource]
    role_arn = arn:aws:iam::123456789012:role/Bad
    credential_source = Elsewhere
    [profile both]
    role_arn = arn:aws:iam::123456789012:role/Both
    credential_source = Environment
    source_profile = other
    [profile webandsource]
    role_arn = arn:aws:iam::123456789012:role/WebAndSource
    source_profile = other
    web_identity_token_file = @DIR@/profile-token
    [profile emptysource]
    role_arn = arn:aws:iam::123456789012:role/EmptySource
    source_profile = regiononly
    [profile regiononly]
    region = eu-west-1
    """
let environmentKeys = ["AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "e"]
let webIdentityEnv = [
    "AWS_WEB_IDENTITY_TOKEN_FILE": "@DIR@/env-token", "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/EnvWeb",
]
let tokens = ["env-token": "envjwt", "profile-token": "profilejwt", "process.sh": processScript("AKIDPROCESS")]

/// The table: each row's expected values are botocore's, computed by `botocore-oracle.py`.
let parityCases: [ParityCase] = [
    // 1. Keys and credential_process: credentials-file keys, then the process, then config-file keys.
    ParityCase(name: "config-file keys and credential_process: the process", config: keysAndProcess, files: tokens),
    ParityCase(
        name: "credentials-file keys beat credential_process", config: keysAndProcess,
        credentials: "[default]\naws_access_key_id = AKIDCREDS\naws_secret_access_key = k\n", files: tokens),
    ParityCase(
        name: "credential_process in the credentials file, keys in config",
        config: "[default]\naws_access_key_id = AKIDCONFIG\naws_secret_access_key = c\n",
        credentials: "[default]\ncredential_process = @DIR@/process.sh\n", files: tokens),
    // 2. An explicit --profile beats web identity and environment keys; AWS_PROFILE does not.
    ParityCase(
        name: "--profile dev with web identity variables set", config: keysAndProcess,
        env: webIdentityEnv, profile: "dev", files: tokens),
    ParityCase(
        name: "AWS_PROFILE=dev with web identity variables set", config: keysAndProcess,
        env: webIdentityEnv.merging(["AWS_PROFILE": "dev"]) { a, _ in a }, files: tokens),
    ParityCase(
        name: "--profile dev with environment keys", config: keysAndProcess, env: environmentKeys, profile: "dev",
        files: tokens),
    ParityCase(
        name: "AWS_PROFILE=dev with environment keys", config: keysAndProcess,
        env: environmentKeys.merging(["AWS_PROFILE": "dev"]) { a, _ in a }, files: tokens),
    ParityCase(
        name: "web identity variables with a role profile: the role first", config: keysAndProcess,
        env: webIdentityEnv.merging(["AWS_PROFILE": "role"]) { a, _ in a }, files: tokens),
    ParityCase(name: "web identity from the profile", config: keysAndProcess, profile: "web", files: tokens),
    ParityCase(
        name: "web identity from the environment, role from the profile", config: keysAndProcess,
        env: ["AWS_WEB_IDENTITY_TOKEN_FILE": "@DIR@/env-token", "AWS_PROFILE": "web"], files: tokens),
    // 3. AWS_IGNORE_CONFIGURED_ENDPOINT_URLS, when set, decides; the profile's setting otherwise.
    ParityCase(
        name: "ignore: variable false, profile true",
        config: "[default]\nignore_configured_endpoint_urls = true\nendpoint_url = http://profile.example:9000\n",
        env: ["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "false"]),
    ParityCase(
        name: "ignore: variable true, profile false",
        config: "[default]\nignore_configured_endpoint_urls = false\nendpoint_url = http://profile.example:9000\n",
        env: ["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "TRUE", "AWS_ENDPOINT_URL": "http://env.example"]),
    ParityCase(
        name: "ignore: profile true alone",
        config: "[default]\nignore_configured_endpoint_urls = true\nendpoint_url = http://profile.example:9000\n",
        env: ["AWS_ENDPOINT_URL_S3": "http://env.example"]),
    ParityCase(
        name: "ignore: variable true does not touch --endpoint-url",
        env: ["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"],
        endpointURL: "http://flag.example:1/"),
    ParityCase(
        name: "endpoint order: AWS_ENDPOINT_URL_S3 over AWS_ENDPOINT_URL over services over profile",
        config:
            "[default]\nendpoint_url = http://profile.example\nservices = local\n[services local]\ns3 =\n  endpoint_url = http://services.example\n",
        env: ["AWS_ENDPOINT_URL": "http://global.example"]),
    ParityCase(
        name: "endpoint from a services section",
        config:
            "[default]\nendpoint_url = http://profile.example\nservices = local\n[services local]\ns3 =\n  endpoint_url = http://services.example:9000\n"
    ),
    ParityCase(name: "services naming no section", config: "[default]\nservices = nowhere\n"),
    ParityCase(
        name: "services naming no section, endpoint from the environment", config: "[default]\nservices = nowhere\n",
        env: ["AWS_ENDPOINT_URL_S3": "http://env.example"]),
    // 4. Addressing style.
    ParityCase(
        name: "virtual addressing with an IP endpoint", config: "[default]\ns3 =\n  addressing_style = virtual\n",
        endpointURL: "http://127.0.0.1:9000", buckets: ["my-bucket", "my.bucket", "ab", "My_Bucket"]),
    ParityCase(
        name: "virtual addressing with a named endpoint", config: "[default]\ns3 =\n  addressing_style = virtual\n",
        endpointURL: "http://minio.local:9000", buckets: ["my-bucket", "my.bucket", "ab", "a..b", "1.2.3.4"]),
    ParityCase(
        name: "virtual addressing over https with a base path",
        config: "[default]\ns3 =\n  addressing_style = virtual\n",
        endpointURL: "https://store.example/base/", buckets: ["my-bucket", "my.bucket"]),
    ParityCase(
        name: "virtual addressing with an IPv6 endpoint", config: "[default]\ns3 =\n  addressing_style = virtual\n",
        endpointURL: "http://[::1]:9000", buckets: ["my-bucket"]),
    ParityCase(
        name: "auto addressing on a custom endpoint", endpointURL: "https://store.example",
        buckets: ["my-bucket", "my.bucket"]),
    ParityCase(
        name: "auto addressing on AWS", region: "eu-west-1", buckets: ["my-bucket", "my.bucket", "ab", "Upper"]),
    ParityCase(
        name: "path addressing on AWS", config: "[default]\ns3 =\n  addressing_style = path\n", region: "eu-west-1"),
    // 5. Parsing as configparser does.
    ParityCase(
        name: "[default] then [profile default]: the later",
        config: "[default]\nregion = eu-west-1\noutput = json\n[profile default]\nregion = eu-west-2\n"),
    ParityCase(
        name: "[profile default] then [default]: the later",
        config: "[profile default]\nregion = eu-west-2\n[default]\nregion = eu-west-1\n"),
    ParityCase(name: "a UTF-8 byte order mark", config: "\u{FEFF}[default]\nregion = eu-west-1\n"),
    ParityCase(
        name: "key: value lines",
        config: "[default]\nregion: eu-north-1\naws_access_key_id:AKIDCOLON\naws_secret_access_key : c\n"),
    ParityCase(name: "a key before the first section", config: "region = eu-west-1\n[default]\n"),
    ParityCase(
        name: "a comment before the first section", config: "# hello\n; there\n\n[default]\nregion = eu-west-1\n"),
    ParityCase(name: "a line that is not key = value", config: "[default]\nregion = eu-west-1\njust words\n"),
    ParityCase(name: "a section twice", config: "[default]\nregion = eu-west-1\n[default]\noutput = json\n"),
    ParityCase(name: "a key twice", config: "[default]\nregion = eu-west-1\nRegion = eu-west-2\n"),
    ParityCase(
        name: "a key twice in the credentials file",
        credentials: "[default]\naws_access_key_id = A\naws_access_key_id = B\naws_secret_access_key = c\n"),
    ParityCase(
        name: "quoted profile name", config: "[profile \"my profile\"]\nregion = ap-south-1\n", profile: "my profile"),
    ParityCase(name: "single-quoted profile name", config: "[profile 'q']\nregion = ap-south-2\n", profile: "q"),
    ParityCase(
        name: "three words in a profile header are not a profile", config: "[profile a b]\nregion = ap-south-1\n",
        profile: "a b"),
    ParityCase(name: "spaces inside a header", config: "[profile   spaced  ]\nregion = ap-east-1\n", profile: "spaced"),
    ParityCase(
        name: "a bare [name] in the config file is not a profile", config: "[bare]\nregion = ap-east-1\n",
        profile: "bare"),
    ParityCase(
        name: "nested sub-settings with blank lines and comments",
        config: "[default]\ns3 =\n\n  # note\n  addressing_style = virtual\nregion = ca-central-1\n",
        endpointURL: "http://minio.local"),
    ParityCase(name: "a sub-setting without =", config: "[default]\ns3 =\n  addressing_style\n"),
    ParityCase(name: "a value continued on the next line", config: "[default]\nregion =\n  us-west-2\n"),
    ParityCase(
        name: "CRLF and CR line ends", config: "[default]\r\nregion = sa-east-1\r\n[profile x]\rregion = me-south-1\r"),
    ParityCase(
        name: "[DEFAULT] applies to every section", config: "[DEFAULT]\nregion = af-south-1\n[default]\noutput = json\n"
    ),
    ParityCase(name: "indented keys after a header", config: "[default]\n  region = eu-south-1\n  output = json\n"),
    ParityCase(name: "inline ; and # are part of the value", config: "[default]\nregion = us-west-1 ; comment\n"),
    ParityCase(name: "upper-case keys", config: "[default]\nREGION = eu-central-2\n"),
    ParityCase(
        name: "the credentials file's region beats the config file's", config: "[default]\nregion = eu-west-1\n",
        credentials: "[default]\nregion = eu-west-2\n"),
    // 6. Half keys, old token names, profile selection.
    ParityCase(
        name: "a secret without a key id in the environment", config: keysAndProcess,
        env: ["AWS_SECRET_ACCESS_KEY": "stray"], files: tokens),
    ParityCase(name: "a key id without a secret in the environment", env: ["AWS_ACCESS_KEY_ID": "AKIDHALF"]),
    ParityCase(
        name: "a secret without a key id in the credentials file",
        config: "[default]\naws_access_key_id = AKIDCONFIG\naws_secret_access_key = c\n",
        credentials: "[default]\naws_secret_access_key = stray\n"),
    ParityCase(
        name: "a key id without a secret in the credentials file",
        credentials: "[default]\naws_access_key_id = AKIDHALF\n"),
    ParityCase(
        name: "aws_security_token in the credentials file",
        credentials: "[default]\naws_access_key_id = AKIDOLD\naws_secret_access_key = k\naws_security_token = t\n"),
    ParityCase(
        name: "aws_session_token in the config file",
        config: "[default]\naws_access_key_id = AKIDCONFIG\naws_secret_access_key = c\naws_session_token = t\n"),
    ParityCase(
        name: "AWS_SECURITY_TOKEN in the environment",
        env: environmentKeys.merging(["AWS_SECURITY_TOKEN": "t"]) { a, _ in a }),
    ParityCase(
        name: "AWS_DEFAULT_PROFILE and AWS_PROFILE", config: keysAndProcess,
        credentials: "[other]\nregion = us-west-1\n",
        env: ["AWS_DEFAULT_PROFILE": "dev", "AWS_PROFILE": "other"], files: tokens),
    ParityCase(name: "AWS_PROFILE alone", config: keysAndProcess, env: ["AWS_PROFILE": "dev"], files: tokens),
    ParityCase(
        name: "AWS_DEFAULT_PROFILE naming no profile", config: keysAndProcess, env: ["AWS_DEFAULT_PROFILE": "missing"],
        files: tokens),
    ParityCase(name: "--profile naming no profile", config: keysAndProcess, profile: "missing", files: tokens),
    ParityCase(name: "AWS_PROFILE=default without files", env: ["AWS_PROFILE": "default"]),
    ParityCase(
        name: "a profile only in the credentials file",
        credentials: "[creds-only]\naws_access_key_id = AKIDONLY\naws_secret_access_key = k\n",
        profile: "creds-only"),
    ParityCase(name: "no credentials anywhere", config: "[default]\nregion = us-west-2\n"),
    // 7. Paths, source profiles.
    ParityCase(
        name: "~ in AWS_CONFIG_FILE", config: nil,
        env: ["HOME": "@DIR@", "AWS_CONFIG_FILE": "~/home-config"],
        files: ["home-config": "[default]\nregion = ap-southeast-2\n"]),
    ParityCase(
        name: "$HOME and ${VAR} in the file variables",
        env: [
            "HOME": "@DIR@", "SUB": "sub", "AWS_CONFIG_FILE": "$HOME/${SUB}-config",
            "AWS_SHARED_CREDENTIALS_FILE": "$HOME/creds-$UNSET",
        ],
        files: [
            "sub-config": "[default]\nregion = ap-southeast-1\n",
            "creds-$UNSET": "[default]\naws_access_key_id = AKIDVAR\naws_secret_access_key = k\n",
        ]),
    ParityCase(
        name: "a source profile with keys and a role of its own: the keys sign", config: keysAndProcess,
        profile: "role", files: tokens),
    ParityCase(name: "a chain of roles", config: keysAndProcess, profile: "chain", files: tokens),
    ParityCase(name: "a profile that is its own source", config: keysAndProcess, profile: "self", files: tokens),
    ParityCase(name: "a source_profile loop", config: keysAndProcess, profile: "loop1", files: tokens),
    ParityCase(
        name: "credential_source Environment", config: keysAndProcess, env: environmentKeys, profile: "fromenv",
        files: tokens),
    ParityCase(
        name: "a source profile with credential_process", config: keysAndProcess, profile: "procsource", files: tokens),
    ParityCase(
        name: "a source profile whose keys are in the credentials file", config: keysAndProcess,
        credentials: "[base]\naws_access_key_id = AKIDBASECREDS\naws_secret_access_key = k\n", profile: "role",
        files: tokens),
    ParityCase(name: "external_id and duration_seconds", config: keysAndProcess, profile: "extras", files: tokens),
    ParityCase(
        name: "a duration_seconds that is not a number is left out", config: keysAndProcess, profile: "badduration",
        files: tokens),
    ParityCase(
        name: "credential_source Ec2InstanceMetadata with IMDS off", config: keysAndProcess, profile: "fromimds",
        files: tokens),
    ParityCase(name: "an unknown credential_source", config: keysAndProcess, profile: "badsource", files: tokens),
    ParityCase(
        name: "both source_profile and credential_source", config: keysAndProcess, env: environmentKeys,
        profile: "both", files: tokens),
    ParityCase(
        name: "role_arn, source_profile and web_identity_token_file: web identity", config: keysAndProcess,
        profile: "webandsource", files: tokens),
    ParityCase(
        name: "a source profile without credentials", config: keysAndProcess, profile: "emptysource", files: tokens),
    ParityCase(name: "role_arn without a source", config: "[default]\nrole_arn = arn:aws:iam::123456789012:role/R\n"),
    ParityCase(
        name: "a source_profile that does not exist",
        config: "[default]\nrole_arn = arn:aws:iam::123456789012:role/R\nsource_profile = ghost\n"),
    // Region.
    ParityCase(
        name: "region: --region over everything", config: "[default]\nregion = eu-west-1\n",
        env: ["AWS_REGION": "us-west-1", "AWS_DEFAULT_REGION": "us-west-2"], region: "ca-central-1"),
    ParityCase(
        name: "region: AWS_REGION over AWS_DEFAULT_REGION",
        env: ["AWS_REGION": "us-west-1", "AWS_DEFAULT_REGION": "us-west-2"]),
    ParityCase(
        name: "region: AWS_DEFAULT_REGION over the profile", config: "[default]\nregion = eu-west-1\n",
        env: ["AWS_DEFAULT_REGION": "us-west-2"]),
    ParityCase(name: "region: none anywhere", config: "[default]\noutput = json\n"),
]

@Suite("Configuration resolves as botocore (the AWS CLI) resolves it")
struct BotocoreParityTests {
    @Test("every row of the table resolves to botocore's answer")
    func parity() throws {
        let root = try TempDirectory()
        var prepared: [(row: ParityCase, env: [String: String])] = []
        for (index, row) in parityCases.enumerated() {
            let directory = root.path + "/\(index)"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
            func place(_ text: String) -> String { text.replacingOccurrences(of: "@DIR@", with: directory) }
            if let config = row.config { try root.write("\(index)/config", place(config)) }
            if let credentials = row.credentials { try root.write("\(index)/credentials", place(credentials)) }
            for (name, text) in row.files {
                try root.write("\(index)/\(name)", place(text), executable: name.hasSuffix(".sh"))
            }
            var env = [
                "HOME": directory + "/home",
                "AWS_CONFIG_FILE": directory + "/config",
                "AWS_SHARED_CREDENTIALS_FILE": directory + "/credentials",
                "AWS_EC2_METADATA_DISABLED": "true",
                "BOTO_CONFIG": "/nonexistent",
                "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
            ]
            env.merge(row.env.mapValues(place)) { _, new in new }
            prepared.append((row, env))
        }
        let expected = try Botocore.resolve(prepared)
        try #require(expected.count == prepared.count)
        for ((row, env), expected) in zip(prepared, expected) {
            #expect(Self.ours(env: env, row: row) == expected, "\(row.name)")
        }
    }

    /// Our resolver's answer, with an STS that records who signed each call.
    static func ours(env: [String: String], row: ParityCase) -> ParityOutcome {
        let sts = RecordingSTS()
        do {
            let resolved = try ResolvedConfiguration.resolve(
                flags: ConfigurationFlags(profile: row.profile, region: row.region, endpointURL: row.endpointURL),
                environment: env, files: LocalFiles(), transport: sts.transport,
                metadataTransport: FakeTransport.unreachable)
            let credentials: String
            do {
                credentials = sts.describe(try resolved.credentials.credentials(forceRefresh: false))
            } catch let error as ConfigurationError where error.kind == .noCredentials {
                credentials = "none"
            }
            let endpoint = S3Client.Configuration(resolved).endpoint
            var urls: [String: String] = [:]
            for bucket in row.buckets {
                urls[bucket] = endpoint.url(bucket: bucket, key: "k", encodedQuery: "", region: resolved.region)
            }
            return ParityOutcome(credentials: credentials, region: resolved.region, urls: urls, error: false)
        } catch let error as ConfigurationError {
            #expect([.noCredentials, .invalidConfiguration].contains(error.kind), "\(row.name): \(error)")  // exit 78
            #expect(!error.description.contains("\n"))
            return .refused
        } catch {
            Issue.record("\(row.name): \(error)")
            return .refused
        }
    }
}

/// A fake STS: every AssumeRole / AssumeRoleWithWebIdentity answers keys `STSKEY-<role name>`, and
/// the request that produced each is kept, so credentials can be traced back to their source.
final class RecordingSTS: Sendable {
    let transport = FakeTransport { request, body in
        let form = RecordingSTS.form(body)
        let id = RecordingSTS.issuedKey(role: form["RoleArn"] ?? "")
        return response(
            200,
            stsAnswer(
                action: form["Action"] ?? "AssumeRole", id: id, secret: "s", token: "t",
                expiration: Timestamp().addingTimeInterval(3600)))
    }

    static func issuedKey(role: String) -> String {
        "STSKEY-" + (role.split(separator: "/").last.map(String.init) ?? "")
    }

    static func form(_ body: [UInt8]) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in String(decoding: body, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map {
                String($0).removingPercentEncoding ?? String($0)
            }
            if parts.count == 2 { fields[parts[0]] = parts[1] }
        }
        return fields
    }

    /// `keys(…)`, or the role calls that produced these credentials, as the oracle writes them.
    func describe(_ credentials: Credentials) -> String {
        describe(id: credentials.accessKeyId, token: credentials.sessionToken != nil)
    }

    private func describe(id: String, token: Bool) -> String {
        for sent in transport.sent {
            let form = Self.form(sent.body)
            guard Self.issuedKey(role: form["RoleArn"] ?? "") == id, let role = form["RoleArn"] else { continue }
            if form["Action"] == "AssumeRoleWithWebIdentity" {
                return "web-identity(\(role), \(form["WebIdentityToken"] ?? ""))"
            }
            let authorization = sent.header("Authorization") ?? ""
            let signer =
                authorization.components(separatedBy: "Credential=").last?.components(separatedBy: "/").first ?? "?"
            let extras = ["ExternalId", "DurationSeconds"].compactMap { name in form[name].map { ", \(name)=\($0)" } }
                .joined()
            return
                "assume-role(\(role), \(describe(id: signer, token: sent.header("x-amz-security-token") != nil))\(extras))"
        }
        return "keys(\(id), \(token ? "token" : "no token"))"
    }
}

/// Runs `botocore-oracle.py` over the table.
enum Botocore {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "botocore-oracle.py"
    ).path

    /// The interpreter's absolute path, found once with the test's own environment (a pyenv shim
    /// needs the real HOME, which each case replaces).
    static let python: String? = {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import sys, botocore; print(sys.executable)"]
        let output = Pipe()
        process.standardOutput = output
        guard (try? process.run()) != nil else { return nil }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }()

    struct Failure: Error, CustomStringConvertible { var description: String }

    /// botocore's answers for every case, from one process.
    static func resolve(_ cases: [(row: ParityCase, env: [String: String])]) throws -> [ParityOutcome] {
        guard let python else {
            throw Failure(description: "python3 with botocore is not installed: run Scripts/setup.sh")
        }
        let input: [[String: Any]] = cases.map { row, env in
            var flags: [String: Any] = ["buckets": row.buckets]
            if let profile = row.profile { flags["profile"] = profile }
            if let region = row.region { flags["region"] = region }
            if let endpoint = row.endpointURL { flags["endpoint_url"] = endpoint }
            return ["env": env, "flags": flags]
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script]
        process.environment = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        stdin.fileHandleForWriting.write(try JSONSerialization.data(withJSONObject: input))
        try stdin.fileHandleForWriting.close()
        let data = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
            let answers = try JSONSerialization.jsonObject(with: data) as? [[String: Any]]
        else {
            throw Failure(
                description:
                    "botocore-oracle.py failed (status \(process.terminationStatus)): \(String(decoding: data, as: UTF8.self))"
            )
        }
        return answers.map { answer in
            if answer["error"] is String { return .refused }
            // botocore addresses us-east-1 at the legacy global host; the regional one is the same service.
            let urls = (answer["urls"] as? [String: String] ?? [:]).mapValues {
                $0.replacingOccurrences(of: "s3.amazonaws.com/", with: "s3.us-east-1.amazonaws.com/")
            }
            return ParityOutcome(
                credentials: answer["credentials"] as? String ?? "?", region: answer["region"] as? String ?? "?",
                urls: urls, error: false)
        }
    }
}

import AWSConfig
import ArgumentParser
import Basics
import HTTPClient
import S3
import SigV4

/// `s3transcode presign s3://BUCKET/KEY [--expires 15m] [--method GET|PUT]`: prints a presigned URL.
///
/// The URL is the requested output, so it goes to stdout, and nowhere else: `-v` shows where the
/// configuration came from, never the URL or its query.
struct PresignCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "presign",
        abstract: "Print a presigned URL for an S3 object (GET to share it, PUT to let someone upload it).",
        discussion: """
            The URL is signed with SigV4 by the configured credentials (a session token goes into the URL too, and the URL stops working when those credentials expire). It is a secret: anyone holding it can do METHOD on the object until it expires. It is printed on stdout only.

            A PUT URL is a destination of s3transcode itself: the whole MP3 is built in memory (--max-memory, default 256M) and sent with one PUT.

            Examples:
              s3transcode presign s3://bucket/take5.mp3 --expires 2h
              URL=$(s3transcode presign s3://bucket/in.mp3 --method PUT --expires 15m)
              s3transcode in.wav "$URL"
            """)

    @Argument(help: "The object: s3://BUCKET/KEY.")
    var object: String

    @Option(help: ArgumentHelp("How long the URL works: 90s, 15m, 2h, 7d (at most 7 days).", valueName: "duration"))
    var expires = "15m"

    @Option(help: ArgumentHelp("GET (download) or PUT (upload).", valueName: "GET|PUT"))
    var method = "GET"

    @OptionGroup(title: "S3") var s3: S3OptionGroup
    @OptionGroup(title: "Output") var output: OutputOptionGroup

    /// S3's limit for SigV4 query signing.
    static let maxExpiry = 604_800

    func validate() throws {
        _ = try PresignCommand.seconds(expires)
        guard ["GET", "PUT"].contains(method.uppercased()) else {
            throw ValidationError("--method \(method): use GET or PUT")
        }
    }

    /// `--expires` in seconds, 1…604800.
    static func seconds(_ text: String) throws -> Int {
        guard let seconds = Units.seconds(text), seconds >= 1 else {
            throw ValidationError("--expires \(text): give a duration such as 90s, 15m, 2h or 7d")
        }
        guard seconds <= maxExpiry else {
            throw ValidationError(
                "--expires \(text) is \(seconds) s; S3 accepts at most 7 days (7d = 604800 s): give 7d or less")
        }
        return seconds
    }

    func run() throws {
        let trap = SignalTrap()
        let console = Console.shared
        do {
            let location = try Location(parsing: object)
            guard case .s3(let bucket, let key) = location else {
                throw CommandFailure(.usage, "\(location): presign takes an S3 object, s3://BUCKET/KEY")
            }
            let seconds = try PresignCommand.seconds(expires)
            let session = try S3Session(options: s3, verbosity: output.verbose, cancellation: trap.cancellation)
            let url = try session.client.presignedURL(
                method: method.uppercased(), bucket: bucket, key: key, expires: seconds)
            if output.json {
                let expiresAt = AmzDate(Timestamp().addingTimeInterval(Double(seconds))).iso8601
                console.output(
                    try JSONLine.encode(
                        PresignReport(
                            url: url, method: method.uppercased(), expiresSeconds: seconds, expiresAt: expiresAt)))
            } else {
                console.output(url)
            }
            if output.verbose > 0 {
                console.info(
                    "presigned \(method.uppercased()) for s3://\(bucket)/\(key), valid \(seconds) s (the URL is on stdout only)"
                )
            }
        } catch {
            let failure = CommandFailure(error)
            console.error(failure.message)
            throw ExitCode(failure.status.rawValue)
        }
    }
}

struct PresignReport: Codable {
    var url: String
    var method: String
    var expiresSeconds: Int
    var expiresAt: String
}

/// How a presigned URL destination reaches S3: a transport of its own (no credentials are needed,
/// so no `S3Session` is resolved), trusting `AWS_CA_BUNDLE` or the profile's `ca_bundle`, logging
/// one redacted line per attempt at `-v`.
struct PresignedAccess {
    var transport: () throws -> any HTTPTransport
    var logger: S3Client.Logger?
    var cancellation: CancellationFlag?

    init(
        transport: @escaping () throws -> any HTTPTransport, logger: S3Client.Logger? = nil,
        cancellation: CancellationFlag? = nil
    ) {
        self.transport = transport
        self.logger = logger
        self.cancellation = cancellation
    }

    init(
        options: S3OptionGroup, verbosity: Int, cancellation: CancellationFlag,
        environment: [String: String] = ProcessEnvironment.current
    ) {
        let flags = options.flags
        self.init(
            transport: {
                CurlTransport(
                    options: CurlTransport.Options(
                        caBundle: try ResolvedConfiguration.caBundle(flags: flags, environment: environment),
                        userAgent: "s3transcode/\(S3Transcode.version)", cancellation: cancellation))
            },
            logger: verbosity > 0 ? { @Sendable line in Console.shared.info(line) } : nil,
            cancellation: cancellation)
    }

    /// The sink for `url`: checked (form, expiry, headers) before anything is encoded.
    func sink(url: String, objectHeaders: [(name: String, value: String)], budget: Int, expectedSize: Int64?) throws
        -> PresignedUpload
    {
        var options = PresignedUpload.Options(budget: budget)
        // A WAV's MP3 is a small fraction of it; this only sizes the first allocation.
        options.expectedSize = expectedSize.map { min($0 / 4, Int64(budget)) }
        let transport = try transport()
        try S3Session.requireTrust(transport, for: url)
        return try PresignedUpload(
            url: try PresignedURL(url), objectHeaders: objectHeaders, options: options,
            transport: transport, logger: logger, cancellation: cancellation)
    }
}

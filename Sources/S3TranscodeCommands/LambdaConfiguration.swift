import AWSConfig
import ArgumentParser
import AudioTranscode
import Basics

/// The options of `transcode` that a Lambda function takes from `S3TRANSCODE_ARGS` (and the
/// single-option variables such as `S3TRANSCODE_BITRATE`): the same groups, parsed the same way.
struct LambdaOptions: ParsableArguments {
    @OptionGroup(title: "Encoding") var encoding: EncodingOptionGroup
    @OptionGroup(title: "Tags") var tags: TagOptionGroup
    @OptionGroup(title: "S3") var s3: S3OptionGroup
    @OptionGroup(title: "Upload") var upload: UploadOptionGroup
    @OptionGroup(title: "Object") var object: ObjectOptionGroup
}

/// Where each object's MP3 goes: `S3TRANSCODE_DEST`, `s3://BUCKET/KEY-TEMPLATE`, where the bucket may
/// hold `{bucket}` (the source's bucket) and the key template takes `batch`'s fields (`{relpath}` the
/// whole source key, `{dir}`, `{name}`, `{stem}`, `{ext}`) and `{bucket}`.
struct DestinationTemplate: Equatable {
    let text: String
    let bucket: String
    let key: String

    init(_ text: String) throws(CommandFailure) {
        let rest = text.hasPrefix("s3://") ? text.dropFirst(5) : ""
        guard let slash = rest.firstIndex(of: "/"), slash != rest.startIndex, rest.index(after: slash) != rest.endIndex
        else {
            throw CommandFailure(
                .configuration,
                "S3TRANSCODE_DEST=\(text): give s3://BUCKET/KEY-TEMPLATE, e.g. s3://{bucket}-mp3/{dir}/{stem}.mp3")
        }
        self.text = text
        bucket = String(rest[..<slash])
        key = String(rest[rest.index(after: slash)...])
        guard !bucket.replacing("{bucket}", with: "").contains("{") else {
            throw CommandFailure(.configuration, "S3TRANSCODE_DEST=\(text): the bucket takes only the {bucket} field")
        }
        do {
            _ = try KeyTemplate(key.replacing("{bucket}", with: "bucket"))
        } catch {
            throw CommandFailure(.configuration, "S3TRANSCODE_DEST=\(text): " + error.message)
        }
    }

    /// The destination of `s3://sourceBucket/sourceKey`.
    func destination(bucket sourceBucket: String, key sourceKey: String) -> (bucket: String, key: String) {
        let keyTemplate = key.replacing("{bucket}", with: sourceBucket)
        // Validated in init with the same fields; a bucket name holds no braces.
        let rendered = (try? KeyTemplate(keyTemplate))?.render(sourceKey) ?? keyTemplate
        return (bucket.replacing("{bucket}", with: sourceBucket), rendered)
    }

    /// Whether the MP3s go to the bucket whose events start the function.
    var writesIntoSourceBucket: Bool { bucket == "{bucket}" }
}

/// The function's configuration, read once at init from its environment variables (README: Lambda).
struct LambdaConfiguration {
    var destination: DestinationTemplate
    var filter: GlobFilter
    var skipExisting: Bool
    var options: LambdaOptions
    var encoding: EncodingOptions
    /// Seconds before the invocation's deadline at which a job still running is stopped and its
    /// upload aborted (`S3TRANSCODE_DEADLINE_MARGIN`, default 3).
    var deadlineMargin: Double
    /// Stop a job early when the encoder's pace says it cannot finish before the margin
    /// (`S3TRANSCODE_DEADLINE_ESTIMATE`, default true); off, a job runs until the margin.
    var estimatesDeadline: Bool
    var verbose: Bool

    /// The single-option variables: `S3TRANSCODE_BITRATE=320` is `--bitrate 320`.
    static let optionVariables: [(variable: String, option: String)] = [
        "bitrate", "vbr", "abr", "quality", "sample-rate", "channels", "threads",
        "part-size", "concurrency", "max-memory",
        "content-type", "cache-control", "storage-class", "sse", "sse-kms-key-id", "acl", "tagging",
        "expected-bucket-owner",
    ].map { ("S3TRANSCODE_" + $0.uppercased().replacing("-", with: "_"), "--" + $0) }

    init(environment: [String: String]) throws(CommandFailure) {
        guard let dest = environment["S3TRANSCODE_DEST"], !dest.isEmpty else {
            throw CommandFailure(
                .configuration,
                "S3TRANSCODE_DEST is not set: give the destination template, e.g. s3://{bucket}-mp3/{dir}/{stem}.mp3")
        }
        destination = try DestinationTemplate(dest)
        func globs(_ name: String, default fallback: [String]) -> [String] {
            guard let text = environment[name] else { return fallback }
            // Blanks (spaces, tabs: Foundation's `.whitespaces`) around each glob, not line breaks.
            return text.split(separator: ",")
                .map { String($0.trimming { $0.isWhitespace && !$0.isNewline }) }
                .filter { !$0.isEmpty }
        }
        filter = GlobFilter(
            include: globs("S3TRANSCODE_INCLUDE", default: ["*.wav"]),
            exclude: globs("S3TRANSCODE_EXCLUDE", default: []))
        guard !filter.include.isEmpty else {
            throw CommandFailure(.configuration, "S3TRANSCODE_INCLUDE is empty: give globs such as *.wav,*.flac")
        }
        skipExisting = try LambdaConfiguration.flag(environment, "S3TRANSCODE_SKIP_EXISTING")
        verbose = try LambdaConfiguration.flag(environment, "S3TRANSCODE_VERBOSE")
        estimatesDeadline = try LambdaConfiguration.flag(environment, "S3TRANSCODE_DEADLINE_ESTIMATE", default: true)
        let marginText = environment["S3TRANSCODE_DEADLINE_MARGIN"] ?? "3"
        guard let margin = Double(marginText), margin >= 0 else {
            throw CommandFailure(.configuration, "S3TRANSCODE_DEADLINE_MARGIN=\(marginText): give seconds, e.g. 3")
        }
        deadlineMargin = margin

        var arguments: [String] = []
        for (variable, option) in LambdaConfiguration.optionVariables {
            if let value = environment[variable], !value.isEmpty { arguments += [option, value] }
        }
        if let text = environment["S3TRANSCODE_ARGS"] {
            guard let words = shellWords(text) else {
                throw CommandFailure(
                    .configuration, "S3TRANSCODE_ARGS: a quote is not closed, or a backslash ends the text")
            }
            arguments += words
        }
        do {
            options = try LambdaOptions.parse(arguments)
            encoding = try options.encoding.encodingOptions(tags: options.tags.tags, writesTags: !options.tags.noTags)
        } catch {
            throw CommandFailure(
                .configuration,
                "S3TRANSCODE_ARGS and the S3TRANSCODE_ option variables: "
                    + LambdaOptions.message(for: error))
        }
        try refuseLoop()
    }

    static func flag(_ environment: [String: String], _ name: String, default fallback: Bool = false)
        throws(CommandFailure) -> Bool
    {
        switch environment[name]?.lowercased() {
        case nil, "": return fallback
        case "0", "false", "no": return false
        case "1", "true", "yes": return true
        case let other?: throw CommandFailure(.configuration, "\(name)=\(other): give true or false")
        }
    }

    /// A destination in the source's own bucket whose outputs the include globs take would start the
    /// function again on its own output, and again: refused before the first event. Checked on a
    /// sample key for each include glob (its wildcards filled in).
    private func refuseLoop() throws(CommandFailure) {
        guard destination.writesIntoSourceBucket else { return }
        for pattern in filter.include where !pattern.contains("[") {
            let sample = pattern.replacing("*", with: "sample").replacing("?", with: "s")
            let key = sample.contains("/") ? sample : "incoming/" + sample
            guard filter.accepts(key) else { continue }
            let output = destination.destination(bucket: "bucket", key: key).key
            if filter.accepts(output) {
                throw CommandFailure(
                    .configuration,
                    "S3TRANSCODE_DEST=\(destination.text) writes into the source bucket, and "
                        + "its output (\(key) → \(output)) matches S3TRANSCODE_INCLUDE=\(filter.include.joined(separator: ",")): each "
                        + "MP3 would start the function again. Write to another bucket or prefix the trigger does not watch, or narrow the globs"
                )
            }
        }
    }

    /// Why an object is not transcoded, or nil when it is: a key the globs do not take, or an output
    /// that would land where it starts the function again (same bucket, matched by the globs).
    func refusal(bucket: String, key: String, output: (bucket: String, key: String)) -> String? {
        guard filter.accepts(key) else {
            return "not matched by S3TRANSCODE_INCLUDE=\(filter.include.joined(separator: ","))"
                + (filter.exclude.isEmpty ? "" : " / S3TRANSCODE_EXCLUDE=\(filter.exclude.joined(separator: ","))")
        }
        if output.bucket == bucket, output.key == key || filter.accepts(output.key) {
            return
                "its output s3://\(output.bucket)/\(output.key) would match S3TRANSCODE_INCLUDE in the same bucket and start the function again"
        }
        return nil
    }
}

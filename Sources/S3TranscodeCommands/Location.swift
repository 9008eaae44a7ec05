import SigV4

/// Where a command reads from or writes to, as written on the command line.
enum Location: Equatable, CustomStringConvertible {
    /// `-`: standard input or standard output.
    case standardStream
    case file(String)
    case s3(bucket: String, key: String)
    /// An https URL with a SigV4 query (`X-Amz-Signature=…`): a presigned PUT. Never printed whole.
    case presignedURL(String)

    init(parsing argument: String) throws(CommandFailure) {
        if argument == "-" {
            self = .standardStream
        } else if argument.hasPrefix("s3://") {
            let rest = argument.dropFirst(5)
            guard let slash = rest.firstIndex(of: "/"), slash != rest.startIndex,
                rest.index(after: slash) != rest.endIndex
            else {
                throw CommandFailure(.usage, "\(argument): an S3 object is written s3://BUCKET/KEY")
            }
            self = .s3(bucket: String(rest[..<slash]), key: String(rest[rest.index(after: slash)...]))
        } else if argument.hasPrefix("https://") || argument.hasPrefix("http://") {
            guard argument.contains("X-Amz-Signature=") || argument.contains("Signature=") else {
                throw CommandFailure(
                    .usage,
                    "\(Redact.url(argument)): an http(s) destination must be a presigned "
                        + "PUT URL (make one with `s3transcode presign s3://BUCKET/KEY --method PUT`)")
            }
            self = .presignedURL(argument)
        } else {
            self = .file(argument)
        }
    }

    /// For messages: a presigned URL loses its query string (it is a secret).
    var description: String {
        switch self {
        case .standardStream: "-"
        case .file(let path): path
        case .s3(let bucket, let key): "s3://\(bucket)/\(key)"
        case .presignedURL(let url): Redact.url(url)
        }
    }
}

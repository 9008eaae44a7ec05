import Basics
import S3
import SigV4

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One file of a batch: where it is read, its path relative to SRC (what templates, shards and
/// filters see), and where its MP3 goes.
struct BatchItem: Sendable {
    var relativePath: String
    var input: Location
    var destination: Location
    /// The input's size in bytes, when listing told it.
    var size: Int64?
    /// A local input's modification time (`--skip-existing` for a local DEST compares it).
    var modified: Timestamp?
}

/// A batch's SRC or DEST: a local folder or an S3 prefix. A SRC folder is walked recursively and an
/// S3 SRC listed; under a DEST, each file's name comes from the key template.
enum BatchLocation: Equatable, CustomStringConvertible {
    case folder(String)
    case s3(bucket: String, prefix: String)

    enum Role { case source, destination }

    init(parsing argument: String, as role: Role) throws(CommandFailure) {
        if argument.hasPrefix("s3://") {
            let rest = argument.dropFirst(5)
            let bucket = rest.prefix { $0 != "/" }
            guard !bucket.isEmpty else {
                throw CommandFailure(.usage, "\(argument): an S3 location is written s3://BUCKET/PREFIX/")
            }
            self = .s3(bucket: String(bucket), prefix: String(rest.dropFirst(bucket.count + 1)))
        } else if argument == "-" || argument.hasPrefix("http://") || argument.hasPrefix("https://") {
            let what =
                role == .source
                ? "batch reads a local folder or an s3://BUCKET/PREFIX/"
                : "batch writes to an s3://BUCKET/PREFIX or a local folder"
            throw CommandFailure(.usage, "\(Redact.url(argument)): \(what)")
        } else {
            self = .folder(argument)
        }
    }

    var description: String {
        switch self {
        case .folder(let path): path
        case .s3(let bucket, let prefix): "s3://\(bucket)/\(prefix)"
        }
    }

    var isS3: Bool { if case .s3 = self { true } else { false } }

    /// Where a rendered template goes: the prefix and the name joined by one `/`.
    func location(for name: String) -> Location {
        switch self {
        case .s3(let bucket, let prefix):
            return .s3(bucket: bucket, key: KeyTemplate.normalized(prefix.isEmpty ? name : prefix + "/" + name))
        case .folder(let path):
            return .file(PathText.appending(path, name))
        }
    }
}

/// `--key-template`: each file's name under DEST, from its path relative to SRC.
///
/// For the relative path `live/2024/Take 5.WAV`:
/// - `{relpath}` the whole relative path, `live/2024/Take 5.WAV`
/// - `{dir}` its directory, `live/2024` (empty for a file directly in SRC)
/// - `{name}` the file name, `Take 5.WAV`
/// - `{stem}` the file name without its last extension, `Take 5`
/// - `{ext}` that extension without the dot, `WAV` (empty when there is none)
///
/// After substitution, runs of `/` become one and leading `/` are dropped, so the default
/// `{dir}/{stem}.mp3` gives `live/2024/Take 5.mp3`, and `Take 5.mp3` at the top level.
struct KeyTemplate: Equatable {
    static let placeholders = ["relpath", "dir", "stem", "name", "ext"]
    let template: String

    init(_ template: String) throws(CommandFailure) {
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{") {
            guard let close = rest[open...].firstIndex(of: "}") else {
                throw CommandFailure(.usage, "--key-template \(template): a { is not closed")
            }
            let name = String(rest[rest.index(after: open)..<close])
            guard KeyTemplate.placeholders.contains(name) else {
                throw CommandFailure(
                    .usage,
                    "--key-template \(template): unknown placeholder {\(name)}; use "
                        + KeyTemplate.placeholders.map { "{\($0)}" }.joined(separator: " "))
            }
            rest = rest[rest.index(after: close)...]
        }
        guard KeyTemplate.placeholders.contains(where: { template.contains("{\($0)}") }) else {
            throw CommandFailure(
                .usage,
                "--key-template \(template): every file would get the same name; "
                    + "use {relpath}, or {dir} with {stem} or {name}")
        }
        self.template = template
    }

    func render(_ relativePath: String) -> String {
        let name = PathText.lastComponent(relativePath)
        let directory = PathText.deletingLastComponent(relativePath)
        let dot = name.lastIndex(of: ".").flatMap { $0 == name.startIndex ? nil : $0 }
        let stem = dot.map { String(name[..<$0]) } ?? name
        let ext = dot.map { String(name[name.index(after: $0)...]) } ?? ""
        var result = template
        for (placeholder, value) in [
            ("relpath", relativePath), ("dir", directory), ("stem", stem), ("name", name), ("ext", ext),
        ] {
            result = result.replacing("{\(placeholder)}", with: value)
        }
        return KeyTemplate.normalized(result)
    }

    /// No `//`, no leading `/`.
    static func normalized(_ key: String) -> String {
        var result = ""
        for character in key where !(character == "/" && (result.isEmpty || result.last == "/")) {
            result.append(character)
        }
        return result
    }
}

/// `--shard K/N`: this run takes the files whose relative path hashes to K modulo N. The hash is
/// FNV-1a 64 over the path's UTF-8 bytes: the same on every machine and every run (unlike Swift's
/// per-process seeded `Hasher`), so N runs with K = 0 … N-1 take disjoint shares that cover all.
struct Shard: Equatable, CustomStringConvertible {
    let index: Int
    let count: Int

    init(index: Int, count: Int) throws(CommandFailure) {
        guard count >= 1, index >= 0, index < count else {
            throw CommandFailure(.usage, "shard \(index)/\(count): K must be from 0 to N-1 and N at least 1")
        }
        self.index = index
        self.count = count
    }

    /// `K/N`.
    init(parsing text: String) throws(CommandFailure) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]) else {
            throw CommandFailure(.usage, "--shard \(text): give K/N (e.g. 0/4), or auto")
        }
        try self.init(index: index, count: count)
    }

    var description: String { "\(index)/\(count)" }

    func contains(_ relativePath: String) -> Bool {
        Int(Shard.fnv1a64(relativePath) % UInt64(count)) == index
    }

    static func fnv1a64(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return hash
    }

    /// The environment variable that gives the shard count to engines that set only an index.
    static let countVariable = "S3TRANSCODE_SHARD_COUNT"

    /// `--shard auto`: the index and count a job-array engine gives each task.
    /// - Slurm job arrays: `SLURM_ARRAY_TASK_ID`, `SLURM_ARRAY_TASK_MIN`, `SLURM_ARRAY_TASK_STEP` (1
    ///   when unset) and `SLURM_ARRAY_TASK_COUNT`; the index is (ID - MIN) / STEP. Arrays with gaps
    ///   (`--array=1,4,9`) are refused: their tasks cannot find their index.
    /// - AWS Batch array jobs: `AWS_BATCH_JOB_ARRAY_INDEX` (0-based) and `AWS_BATCH_JOB_ARRAY_SIZE`.
    /// - Kubernetes Indexed Jobs: `JOB_COMPLETION_INDEX` (0-based). Kubernetes sets no count: it
    ///   comes from `--shard-count` or `S3TRANSCODE_SHARD_COUNT` (set it to the Job's `completions`).
    /// `--shard-count` (then `S3TRANSCODE_SHARD_COUNT`) overrides the engine's count for all three.
    static func auto(environment: [String: String], count overrideCount: Int?) throws(CommandFailure) -> Shard {
        let envCount = environment[countVariable].flatMap { Int($0) }
        if environment[countVariable] != nil, envCount == nil {
            throw CommandFailure(.usage, "\(countVariable)=\(environment[countVariable]!): give a whole number")
        }
        let givenCount = overrideCount ?? envCount
        func number(_ name: String) throws(CommandFailure) -> Int? {
            guard let text = environment[name], !text.isEmpty else { return nil }
            guard let value = Int(text) else {
                throw CommandFailure(.usage, "--shard auto: \(name)=\(text) is not a number")
            }
            return value
        }
        if let id = try number("SLURM_ARRAY_TASK_ID") {
            let minimum = try number("SLURM_ARRAY_TASK_MIN") ?? 0
            let step = try number("SLURM_ARRAY_TASK_STEP") ?? 1
            let maximum = try number("SLURM_ARRAY_TASK_MAX")
            let slurmCount = try number("SLURM_ARRAY_TASK_COUNT")
            guard let count = givenCount ?? slurmCount else {
                throw CommandFailure(
                    .usage,
                    "--shard auto: SLURM_ARRAY_TASK_ID is set but not SLURM_ARRAY_TASK_COUNT; give --shard-count")
            }
            if givenCount == nil, let maximum, step > 0, (maximum - minimum) / step + 1 != count {
                throw CommandFailure(
                    .usage,
                    "--shard auto: this Slurm array (\(minimum)-\(maximum) step \(step), "
                        + "\(count) tasks) has gaps; submit it as a range such as --array=0-\(count - 1)")
            }
            guard step > 0, (id - minimum) % step == 0 else {
                throw CommandFailure(.usage, "--shard auto: SLURM_ARRAY_TASK_ID \(id) is not on the array's steps")
            }
            return try Shard(index: (id - minimum) / step, count: count)
        }
        if let index = try number("AWS_BATCH_JOB_ARRAY_INDEX") {
            let arraySize = try number("AWS_BATCH_JOB_ARRAY_SIZE")
            guard let count = givenCount ?? arraySize else {
                throw CommandFailure(
                    .usage,
                    "--shard auto: AWS_BATCH_JOB_ARRAY_INDEX is set but not "
                        + "AWS_BATCH_JOB_ARRAY_SIZE; give --shard-count with the array size")
            }
            return try Shard(index: index, count: count)
        }
        if let index = try number("JOB_COMPLETION_INDEX") {
            guard let count = givenCount else {
                throw CommandFailure(
                    .usage,
                    "--shard auto: Kubernetes sets JOB_COMPLETION_INDEX but no count; give "
                        + "--shard-count N or set \(countVariable) to the Job's completions")
            }
            return try Shard(index: index, count: count)
        }
        throw CommandFailure(
            .usage,
            "--shard auto: no job-array index in the environment (SLURM_ARRAY_TASK_ID, "
                + "AWS_BATCH_JOB_ARRAY_INDEX or JOB_COMPLETION_INDEX); give --shard K/N")
    }
}

/// `--include` / `--exclude`: shell globs (fnmatch(3)), compared without regard to case. A pattern
/// with a `/` is matched against the path relative to SRC (`*` then stops at `/`); one without is
/// matched against the file name alone. A file is taken when it matches an include and no exclude.
struct GlobFilter: Equatable {
    var include: [String]
    var exclude: [String]

    func accepts(_ relativePath: String) -> Bool {
        include.contains { GlobFilter.matches($0, relativePath) }
            && !exclude.contains { GlobFilter.matches($0, relativePath) }
    }

    /// `FNM_CASEFOLD`: 1 << 4 in glibc, musl and the BSDs, but declared only under `_GNU_SOURCE`,
    /// which Swift's Glibc module does not define.
    private static let caseFold: Int32 = 1 << 4

    static func matches(_ pattern: String, _ relativePath: String) -> Bool {
        let subject = pattern.contains("/") ? relativePath : PathText.lastComponent(relativePath)
        let flags = caseFold | (pattern.contains("/") ? FNM_PATHNAME : 0)
        return fnmatch(pattern, subject, flags) == 0
    }
}

/// A local file found under SRC.
struct FoundFile {
    var relativePath: String
    var path: String
    var size: Int64
    var modified: Timestamp?
}

enum BatchListing {
    /// Every regular file under `root`, recursively, sorted by relative path. Hidden files and
    /// folders (a name starting with `.`) are left out: they include the temporary files that
    /// s3transcode itself writes next to a local output. Symbolic links to files are followed.
    static func localFiles(under root: String) throws(CommandFailure) -> [FoundFile] {
        guard let status = FileStatus(root) else {
            throw CommandFailure(.noInput, "\(root): no such folder; check SRC")
        }
        guard status.isDirectory else {
            throw CommandFailure(
                .usage, "\(root): SRC is a file; batch takes a folder (use `s3transcode transcode` for one file)")
        }
        guard let top = opendir(root) else {
            throw CommandFailure(.noInput, "\(root): cannot read the folder; check its permissions")
        }
        var found: [FoundFile] = []
        // Folders are walked, not followed: a link to a folder is skipped; an unreadable subfolder too.
        func walk(_ directory: OpaquePointer, _ relativeFolder: String) {
            defer { closedir(directory) }
            while let entry = readdir(directory) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) {
                    String(cString: $0.bindMemory(to: CChar.self).baseAddress!)
                }
                guard !name.hasPrefix(".") else { continue }
                let relative = relativeFolder.isEmpty ? name : relativeFolder + "/" + name
                let path = PathText.appending(root, relative)
                var link = stat()
                guard lstat(path, &link) == 0 else { continue }
                if link.st_mode & S_IFMT == S_IFDIR {
                    if let sub = opendir(path) { walk(sub, relative) }
                } else if let status = FileStatus(path), status.isRegularFile {
                    found.append(
                        FoundFile(relativePath: relative, path: path, size: status.size, modified: status.modified))
                }
            }
        }
        walk(top, "")
        return found.sorted { $0.relativePath < $1.relativePath }
    }

    /// Every object under the prefix, with its path relative to the prefix (up to and including the
    /// last `/` of the prefix as written, so `s3://b/music/` and `s3://b/music` list the same).
    static func s3Objects(client: S3Client, bucket: String, prefix: String) throws -> [FoundFile] {
        let base = prefix.isEmpty || prefix.hasSuffix("/") ? prefix : prefix + "/"
        return try client.listAllObjects(bucket: bucket, prefix: base.isEmpty ? nil : base)
            .filter { !$0.key.hasSuffix("/") }
            .map {
                FoundFile(
                    relativePath: String($0.key.dropFirst(base.count)), path: $0.key, size: Int64($0.size),
                    modified: nil)
            }
            .sorted { $0.relativePath < $1.relativePath }
    }
}

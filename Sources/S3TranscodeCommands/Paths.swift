import Basics

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Path text as NSString's path methods treat it, without Foundation (which would link ICU into the
/// release binary), and `stat` for what the commands ask of a file.
enum PathText {
    /// The last component, trailing slashes ignored: `a/b/` → `b`, `/` → `/`.
    static func lastComponent(_ path: String) -> String {
        let trimmed = trimmingTrailingSlashes(path)
        if trimmed == "/" || trimmed.isEmpty { return trimmed }
        return trimmed.split(separator: "/", omittingEmptySubsequences: true).last.map(String.init) ?? trimmed
    }

    /// Everything before the last component: `a/b/c` → `a/b`, `a` → ``, `/a` → `/`.
    static func deletingLastComponent(_ path: String) -> String {
        let trimmed = trimmingTrailingSlashes(path)
        guard let slash = trimmed.lastIndex(of: "/") else { return "" }
        if slash == trimmed.startIndex { return "/" }
        return trimmingTrailingSlashes(String(trimmed[..<slash]))
    }

    /// `name.wav` → `name`; a leading dot (`.hidden`) is no extension, nor a dot in a folder's name.
    static func deletingExtension(_ path: String) -> String {
        let last = lastComponent(path)
        guard let dot = last.lastIndex(of: "."), dot != last.startIndex else { return path }
        let folder = deletingLastComponent(path)
        let stem = String(last[..<dot])
        return folder.isEmpty ? stem : appending(folder, stem)
    }

    /// `folder` and `name` joined by one `/`.
    static func appending(_ folder: String, _ name: String) -> String {
        if folder.isEmpty { return name }
        return trimmingTrailingSlashes(folder) == "/" ? "/" + name : trimmingTrailingSlashes(folder) + "/" + name
    }

    /// Creates `folder` and any missing parents (`mkdir -p`, mode 0777 less the umask). False when
    /// one cannot be created or a component is not a folder.
    static func createFolders(_ folder: String) -> Bool {
        if FileStatus(folder)?.isDirectory == true { return true }
        let parent = deletingLastComponent(folder)
        if !parent.isEmpty, parent != folder, !createFolders(parent) { return false }
        return mkdir(folder, 0o777) == 0 || (errno == EEXIST && FileStatus(folder)?.isDirectory == true)
    }

    private static func trimmingTrailingSlashes(_ path: String) -> String {
        var result = Substring(path)
        while result.count > 1, result.hasSuffix("/") { result = result.dropLast() }
        return String(result)
    }
}

/// What `stat` (following symbolic links) says about a path.
struct FileStatus {
    var isDirectory: Bool
    var isRegularFile: Bool
    var size: Int64
    var modified: Timestamp

    init?(_ path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        isDirectory = info.st_mode & S_IFMT == S_IFDIR
        isRegularFile = info.st_mode & S_IFMT == S_IFREG
        size = Int64(info.st_size)
        modified = Timestamp(timeIntervalSince1970: Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9)
    }
}

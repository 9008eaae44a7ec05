#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A configured path as botocore opens it: Python's `os.path.expandvars` (`$NAME` and `${NAME}`
/// of variables that are set; others stay as written), then `os.path.expanduser` (`~` is `HOME`,
/// or the account's home directory when `HOME` is unset; `~user` is that user's home).
func expandPath(_ path: String, _ env: Environment) -> String {
    expandUser(expandVariables(path, env.values), env.values)
}

/// `os.path.expandvars`: `\$(\w+|\{[^}]*\})` with ASCII word characters.
func expandVariables(_ path: String, _ values: [String: String]) -> String {
    guard path.contains("$") else { return path }
    func isWord(_ c: Character) -> Bool { c.isASCII && (c.isLetter || c.isNumber || c == "_") }
    var result = ""
    var rest = Substring(path)
    while let dollar = rest.firstIndex(of: "$") {
        result += rest[..<dollar]
        let after = rest[rest.index(after: dollar)...]
        var name: Substring?
        var end = after.startIndex
        if after.first == "{", let close = after.firstIndex(of: "}") {
            name = after[after.index(after: after.startIndex)..<close]
            end = after.index(after: close)
        } else {
            end = after.firstIndex { !isWord($0) } ?? after.endIndex
            if end > after.startIndex { name = after[..<end] }
        }
        if let name, let value = values[String(name)] {
            result += value
            rest = after[end...]
        } else {
            result += "$"
            rest = after
        }
    }
    return result + rest
}

/// `os.path.expanduser`.
func expandUser(_ path: String, _ values: [String: String]) -> String {
    guard path.hasPrefix("~") else { return path }
    let slash = path.dropFirst().firstIndex(of: "/") ?? path.endIndex
    let user = path[path.index(after: path.startIndex)..<slash]
    var home: String
    if user.isEmpty {
        if let value = values["HOME"] {
            home = value
        } else if let entry = getpwuid(getuid()), let dir = entry.pointee.pw_dir {
            home = String(cString: dir)
        } else {
            return path
        }
    } else {
        guard let entry = getpwnam(String(user)), let dir = entry.pointee.pw_dir else { return path }
        home = String(cString: dir)
    }
    while home.hasSuffix("/") { home.removeLast() }
    let expanded = home + path[slash...]
    return expanded.isEmpty ? "/" : expanded
}

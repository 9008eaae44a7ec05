/// Encodes `Encodable` values as one line of JSON: object keys sorted, no whitespace, `/` not
/// escaped, optionals that are nil left out (what Foundation's `JSONEncoder` writes with
/// `[.sortedKeys, .withoutEscapingSlashes]`). Non-finite numbers cannot be written in JSON and throw.
public enum JSONEncoding {
    public static func encode(_ value: some Encodable) throws -> String {
        let root = Node()
        try value.encode(to: NodeEncoder(node: root, codingPath: []))
        var out = ""
        root.write(to: &out)
        return out
    }

    /// `text` as a JSON string literal, quotes included.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\u{00}"..."\u{1F}":
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

/// One value being encoded: a scalar's JSON text, an array or an object. A class, because
/// containers handed out by the encoder keep adding to it after they are returned.
private final class Node {
    var scalar: String?
    var elements: [Node]?
    var members: [String: Node]?

    func write(to out: inout String) {
        if let elements {
            out += "["
            for (i, element) in elements.enumerated() {
                if i > 0 { out += "," }
                element.write(to: &out)
            }
            out += "]"
        } else if let members {
            out += "{"
            for (i, key) in members.keys.sorted().enumerated() {
                if i > 0 { out += "," }
                out += JSONEncoding.quoted(key) + ":"
                members[key]!.write(to: &out)
            }
            out += "}"
        } else {
            // A value that encoded nothing is an empty object, as JSONEncoder writes it.
            out += scalar ?? "{}"
        }
    }
}

private func invalid(_ value: Any, _ codingPath: [any CodingKey]) -> EncodingError {
    EncodingError.invalidValue(
        value, EncodingError.Context(codingPath: codingPath, debugDescription: "\(value) cannot be written in JSON"))
}

private func numberText<T: BinaryFloatingPoint & LosslessStringConvertible>(
    _ value: T, _ codingPath: [any CodingKey]
) throws -> String {
    guard value.isFinite else { throw invalid(value, codingPath) }
    // Whole numbers without ".0", as JSONEncoder writes them.
    if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
    return String(value)
}

private struct NodeEncoder: Encoder {
    let node: Node
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if node.members == nil { node.members = [:] }
        return KeyedEncodingContainer(KeyedContainer<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if node.elements == nil { node.elements = [] }
        return UnkeyedContainer(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleContainer(node: node, codingPath: codingPath)
    }
}

private struct IndexKey: CodingKey {
    let intValue: Int?
    var stringValue: String { "Index \(intValue!)" }
    init(intValue: Int) { self.intValue = intValue }
    init?(stringValue: String) { return nil }
}

private struct SingleContainer: SingleValueEncodingContainer {
    let node: Node
    let codingPath: [any CodingKey]

    func encodeNil() { node.scalar = "null" }
    func encode(_ value: Bool) { node.scalar = value ? "true" : "false" }
    func encode(_ value: String) { node.scalar = JSONEncoding.quoted(value) }
    func encode(_ value: Double) throws { node.scalar = try numberText(value, codingPath) }
    func encode(_ value: Float) throws { node.scalar = try numberText(value, codingPath) }
    func encode(_ value: Int) { node.scalar = String(value) }
    func encode(_ value: Int8) { node.scalar = String(value) }
    func encode(_ value: Int16) { node.scalar = String(value) }
    func encode(_ value: Int32) { node.scalar = String(value) }
    func encode(_ value: Int64) { node.scalar = String(value) }
    func encode(_ value: UInt) { node.scalar = String(value) }
    func encode(_ value: UInt8) { node.scalar = String(value) }
    func encode(_ value: UInt16) { node.scalar = String(value) }
    func encode(_ value: UInt32) { node.scalar = String(value) }
    func encode(_ value: UInt64) { node.scalar = String(value) }
    func encode<T: Encodable>(_ value: T) throws {
        try value.encode(to: NodeEncoder(node: node, codingPath: codingPath))
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: Node
    let codingPath: [any CodingKey]

    private func child(_ key: Key) -> Node {
        let child = Node()
        node.members![key.stringValue] = child
        return child
    }

    func encodeNil(forKey key: Key) { child(key).scalar = "null" }
    func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try value.encode(to: NodeEncoder(node: child(key), codingPath: codingPath + [key]))
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
        -> KeyedEncodingContainer<NestedKey>
    {
        NodeEncoder(node: child(key), codingPath: codingPath + [key]).container(keyedBy: keyType)
    }

    func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        NodeEncoder(node: child(key), codingPath: codingPath + [key]).unkeyedContainer()
    }

    func superEncoder() -> any Encoder { NodeEncoder(node: node, codingPath: codingPath) }
    func superEncoder(forKey key: Key) -> any Encoder { NodeEncoder(node: child(key), codingPath: codingPath + [key]) }
}

private struct UnkeyedContainer: UnkeyedEncodingContainer {
    let node: Node
    let codingPath: [any CodingKey]
    var count: Int { node.elements!.count }

    private func next() -> (Node, [any CodingKey]) {
        let child = Node()
        let path = codingPath + [IndexKey(intValue: count)]
        node.elements!.append(child)
        return (child, path)
    }

    func encodeNil() { next().0.scalar = "null" }
    func encode<T: Encodable>(_ value: T) throws {
        let (child, path) = next()
        try value.encode(to: NodeEncoder(node: child, codingPath: path))
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let (child, path) = next()
        return NodeEncoder(node: child, codingPath: path).container(keyedBy: keyType)
    }

    func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let (child, path) = next()
        return NodeEncoder(node: child, codingPath: path).unkeyedContainer()
    }

    func superEncoder() -> any Encoder {
        let (child, path) = next()
        return NodeEncoder(node: child, codingPath: path)
    }
}

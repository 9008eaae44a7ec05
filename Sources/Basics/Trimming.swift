extension StringProtocol {
    /// The text without its leading and trailing characters that `isTrimmed` picks: each caller
    /// says which blanks its format allows (`line.trimming(while: \.isWhitespace)`).
    public func trimming(while isTrimmed: (Character) -> Bool) -> SubSequence {
        var start = startIndex
        var end = endIndex
        while start < end, isTrimmed(self[start]) { start = index(after: start) }
        while end > start, isTrimmed(self[index(before: end)]) { end = index(before: end) }
        return self[start..<end]
    }
}

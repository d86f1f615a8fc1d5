/// Tests on octets of ASCII keywords and letters, in place (no `String` made): what the
/// command parser, the dialogue and the rules read wire text with.

/// The octet upper-cased when it is an ASCII letter.
@inline(__always)
func upperCasedASCII(_ b: UInt8) -> UInt8 { b >= 0x61 && b <= 0x7A ? b - 0x20 : b }

/// Whether `octets` start with `prefix`, ASCII letters compared without case (nothing else
/// folded): the one keyword test on octets, in place.
@inlinable @inline(__always)
public func hasASCIIPrefix(_ octets: UnsafeBufferPointer<UInt8>, _ prefix: StaticString) -> Bool {
    let length = prefix.utf8CodeUnitCount
    guard octets.count >= length else { return false }
    let wanted = prefix.utf8Start
    for i in 0..<length where !sameIgnoringASCIICase(octets[i], wanted[i]) { return false }
    return true
}

/// Whether `octets` are `word` (`hasASCIIPrefix`, and no more octets).
@inlinable @inline(__always)
public func isASCIIWord(_ octets: UnsafeBufferPointer<UInt8>, _ word: StaticString) -> Bool {
    octets.count == word.utf8CodeUnitCount && hasASCIIPrefix(octets, word)
}

/// Whether octet `b` is `w`, or the same ASCII letter in the other case.
@inlinable @inline(__always)
public func sameIgnoringASCIICase(_ b: UInt8, _ w: UInt8) -> Bool { b == w || (isASCIILetter(b) && b ^ 0x20 == w) }

/// The part of `octets` without the spaces and tabs at either end.
@inline(__always)
func spaceTrimmedRange(_ octets: UnsafeBufferPointer<UInt8>, from start: Int = 0) -> Range<Int> {
    var start = start, end = octets.count
    while start < end, octets[start] == 0x20 || octets[start] == 0x09 { start += 1 }
    while end > start, octets[end - 1] == 0x20 || octets[end - 1] == 0x09 { end -= 1 }
    return start..<end
}

/// The next word of `octets` from `position` (a run of octets other than the ASCII space, the
/// spaces before it skipped; empty at the end), `position` moved past it. Cut at spaces only,
/// which are ASCII: UTF-8 stays whole.
@inline(__always)
func nextSpaceDelimitedWord(_ octets: UnsafeBufferPointer<UInt8>, from position: inout Int) -> Range<Int> {
    while position < octets.count, octets[position] == 0x20 { position += 1 }
    let start = position
    while position < octets.count, octets[position] != 0x20 { position += 1 }
    return start..<position
}

@inlinable @inline(__always)
public func isASCIILetter(_ b: UInt8) -> Bool { (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A }

/// The case of an enum without payloads, as the index it is stored as (one octet): what
/// `SessionClose` and `FindingKind` compare and hash. For a `String` raw type the standard
/// library's default `==` and `hash(into:)` compare and hash the raw text instead, a few hundred
/// instructions for each dictionary update of a count per session or per finding.
/// (`unsafeBitCast` checks the sizes: a type of another size stops here, it is not misread.)
@inlinable
public func caseIndex<Case: CaseIterable & RawRepresentable>(of value: Case) -> UInt8 {
    unsafeBitCast(value, to: UInt8.self)
}

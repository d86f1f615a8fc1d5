/// Captures of the corpus where smtp-trace and tshark 4.0.17 list different commands or reply
/// codes, each with why smtp-trace's reading is the right one.
enum CorpusDifferences {
    static let explained: [String: String] = [:]
}

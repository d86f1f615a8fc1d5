/// Anything that hands out captured frames one at a time: a capture file, several files
/// merged in time order, or (later) a live interface.
///
/// The frame returned by `next()` borrows the source's buffer and is valid only until the
/// following call.
public protocol FrameSource: AnyObject {
    /// The next frame, or `nil` at the end of the input.
    func next() throws(CaptureError) -> CapturedFrame?
    /// Read errors met part-way that did not end the whole input (one file of several).
    var warnings: [CaptureError] { get }
}

extension FrameSource {
    public var warnings: [CaptureError] { [] }
}

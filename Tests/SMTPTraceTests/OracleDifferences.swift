/// Captures where smtp-trace disagrees with the Zeek `smtp.log` baselines or with the
/// suricata-verify expectations stored in the corpus, each with the evidence and a verdict:
/// (A) the oracle is wrong or limited, ours right; (B) ours is wrong — a decoder bug, still
/// open; (C) a definitional difference (what counts as a transaction, which reply line).
/// The full analysis, with the bytes, is in the report of the oracle comparison.
///
/// A capture listed here must still differ: when a change makes it agree (a B bug fixed), the
/// test fails so that the entry is removed.
enum OracleDifferences {
    /// Keyed by the capture's path under the corpus.
    static let zeek: [String: String] = [
        "zeek/smtp-bdat-pipeline-8bitmime.pcap": "(C) the end-of-data replies are 2-line ('250- 4404 byte chunk, total 4404' / '250 OK id=1lHkUh-008hPw-NY', frame 14; frame 28 likewise): we keep the first line's text, Zeek logs the last line",
        "zeek/smtp-bdat-gap.pcap": "(A) the message sent after DATA (354 frame 28) is frame 30: 'From: sender@example.com / To: recipient@example.com / Subject: Test', accepted '250 OK: message queued' (frame 32); Zeek's row leaves subject, from and to unset: after the BDAT 200 chunk of 'A' octets (frame 22) and the 1000 lost client octets (ACKed in frame 24) its MIME state does not parse the DATA message's header",
        "zeek/smtp-mail-transactions-invalid.pcap": "(C) Zeek row 2 holds a RCPT with no MAIL (frame 24, answered 503 'sender not yet given' in frame 25): Zeek starts a row after the first message's end, our transactions begin at MAIL, so that RCPT stands outside any transaction of ours",
    ]

    /// Keyed by the capture's path under the corpus.
    static let suricata: [String: String] = [
        "suricata-verify/smtp-pipelined-rset-data-replies__input.pcap": "(C) RSET, DATA and '.' in one segment (frame 7) with no MAIL: the server answered 250, 354 (frame 10) and '250 queued' (frame 12), Suricata logs a parsed message (PARSE_DONE) in tx 0; our transactions begin at MAIL, so this message has no transaction",
        "suricata-verify/smtp-no-helo-quit__input.pcap": "(C) Suricata counts a transaction for a QUIT-only session (app_layer.tx.smtp 1); ours begin at MAIL (0)",
        "suricata-verify/smtp-no-helo-rset__input.pcap": "(C) Suricata counts a transaction for a RSET-only session (app_layer.tx.smtp 1); ours begin at MAIL (0)",
        "suricata-verify/smtp-no-helo-rset-helo-mail__input.pcap": "(C) Suricata counts the RSET before HELO as a transaction of its own (app_layer.tx.smtp 2); ours begin at MAIL (1: alice → bob, complete)",
    ]
}

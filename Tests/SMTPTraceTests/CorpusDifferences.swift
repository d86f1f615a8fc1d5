/// Captures of the corpus where smtp-trace and tshark 4.0.17 list different commands or reply
/// codes, each with the evidence that smtp-trace's reading is the right one. The best witness
/// is the server itself: what it answered shows how it parsed the client's bytes.
enum CorpusDifferences {
    static let quitAfterDot = "tshark drops a QUIT that follows '.\\r\\n' in the same segment; the server's 221 answers it"
    static let bdat = "tshark does not decode BDAT chunks and loses the dialogue after them; the server's replies match ours"
    static let dataAfterRejection = "tshark enters DATA mode although DATA was answered 503; the server answered the following lines as commands"
    static let pipelinedSegment = "tshark decodes no command in a segment carrying several pipelined commands or sent before the greeting; the server answered each one"

    static let explained: [String: String] = [
        "arkime/smtp-decrypted.pcap": "frames 29-32 are first copies that tshark flags as spurious retransmissions and skips (it misses QUIT in frame 32); BDAT LAST chunks in frames 51 and 78 are not decoded by tshark; the 221 of frame 86 is skipped as a retransmission",
        "arkime/smtp-html.pcap": "one client-only packet with bare-LF lines: tshark shows only text; HELO and DATA are commands by any reading (what follows the '.\\n' is reported by smtp.smuggling under both readings)",
        "arkime/smtp-moloch-bof.pcap": pipelinedSegment + " (frame 4; replies in frame 6, 221 in frame 24)",
        "arkime/smtp-subject-multi-nospace.pcap": "client-only capture: tshark decodes no command in frame 4, which holds EHLO, MAIL, RCPT and DATA before the message (ended by an ambiguous '.\\n', see smtp.smuggling)",
        "arkime/smtp-subject-utf8-q.pcap": quitAfterDot + " (frame 13, 221 in frame 16)",
        "arkime/smtp-subject-windows.pcap": pipelinedSegment + " (frame 4); the greeting is one 4-line 220 reply split over frames 8 and 10, which tshark counts twice; the empty line got '500 Command unrecognized: \"\"' (frame 20)",
        "arkime/socks5-smtp-503.pcap": "SMTP behind a SOCKS5 handshake on port 1080 (frames 5-11): tshark misses EHLO (frame 14), which the server answered 250 (frame 16)",
        "chrissanders-packets/mail_receiver_server_3.pcapng": quitAfterDot + " (frame 11, 221 in frame 12)",
        "chrissanders-packets/mail_sender_server_2.pcapng": quitAfterDot + " (stream 1, frame 34, 221 in frame 35)",
        "pcapplusplus/Smtp.pcap": "frames 7-8 reuse stream 0's 4-tuple 13 years later with rewound sequence numbers (spliced from another capture): after the idle timeout they are a new, mid-stream session of ours; tshark folds them into stream 0 as retransmissions",
        "suricata-verify/bug-1045__smtpsuricataflowbitsFN.pcap": quitAfterDot + " (frame 13, 221 in frame 16)",
        "suricata-verify/bug-7126__input.pcap": bdat + " (BDAT 4404 LAST in frame 9, BDAT 8757 LAST in frame 17)",
        "suricata-verify/issue-4220-01-ids__1flowB.pcap": "tshark flags the only copies of the replies in frames 9 and 13 as spurious retransmissions and does not decode them",
        "suricata-verify/ruletype-firewall-133-smtp-out-of-order-commands__smtp-out-of-order.pcap": dataAfterRejection + " (503 in frame 12, then 250/250/354)",
        "suricata-verify/smtp-bdat-bad-tail-next-mail__input.pcap": "'BDAT 5 X' is a syntax error (521, frame 14) that opens no chunk; then BDAT 221 LAST with its chunk, MAIL, RCPT, DATA: " + bdat,
        "suricata-verify/smtp-bdat-bad-tail-reply-queue__input.pcap": "'BDAT 5 X' opens no chunk: the server's frame 11 answers BDAT 501, MAIL 250, RCPT 250, DATA 354; tshark decodes no command in frame 9",
        "suricata-verify/smtp-bdat-last-next-mail__input.pcap": bdat + " (frame 13), and misses QUIT (frame 26, 221 in frame 28)",
        "suricata-verify/smtp-bdat-multichunk-inspection__input.pcap": bdat + " (frames 18 and 22)",
        "suricata-verify/smtp-bdat-multichunk-next-mail__input.pcap": bdat + " (frames 13 and 15)",
        "suricata-verify/smtp-bdat-pipelined-next-mail__input.pcap": bdat + " (frame 13 carries two BDAT chunks, MAIL and RCPT; four 250s in frame 14)",
        "suricata-verify/smtp-data-rejected__10.7.29.101_49898-178.63.41.150_25.pcap": dataAfterRejection + " (553/503/503 in frame 10; RSET answered 250 in frame 13)",
        "suricata-verify/smtp-to-comma__10.7.29.101_49898-178.63.41.150_25.pcap": dataAfterRejection + " (as smtp-data-rejected; the file is damaged after frame 18)",
        "suricata-verify/smtp-ehlo-reset-after-rejected-data__input.pcap": dataAfterRejection + " (503 in frame 10; 10-line 250 to the EHLO in frame 12)",
        "suricata-verify/smtp-errors__smtperr.pcap": "stream 0: 1024 binary bytes to port 25 that Sendmail answered with five '500 Command unrecognized' (frames 6, 11), so five command lines; stream 1: an unterminated QUIT sent at the client's FIN (frame 124)",
        "suricata-verify/smtp-tls-protodetect__input.pcap": "port 465: the client opens with a TLS ClientHello (frame 4) and the server answers in plain SMTP '220 poczta.home-whs.pl ESMTP' (frame 6): a session whose two sides disagree on TLS, which we report (as Suricata does); tshark does not decode port 465 as SMTP",
        "ndpi/smtps.pcapng": "port 465: the client's TLS ClientHello is answered by a plain '220' greeting: reported as a session (greeting 220, TLS from the client); tshark does not decode port 465 as SMTP",
        "suricata-verify/smtp-long-command__input.pcap": "'QUIT' (frame 19) is the AUTH LOGIN user name: the server answered it '334 UGFzc3dvcmQ6' (Password:, frame 21), so it is an AUTH response, not a command",
        "suricata-verify/smtp-pipelined-rset-data-replies__input.pcap": pipelinedSegment + " (frame 7: RSET, DATA, '.'; replies in frames 8, 10, 12)",
        "suricata-verify/smtp-pipelining__input.pcap": pipelinedSegment + " (frame 11; four replies in frame 13)",
        "zeek/connect-with-smtp.pcap": "SMTP behind an HTTP CONNECT tunnel on port 8240; tshark misses HELO (frame 11, flagged as a retransmission), which the server answered 250 (frame 13)",
        "zeek/smtp-bdat-cmd-chunk-size-overflow.pcap": "BDAT with an overflowing size is answered 521 (frame 17) and opens no chunk; tshark decodes neither it nor the QUIT of frame 20",
        "zeek/smtp-bdat-cmd-chunk-size-overflow2.pcap": "BDAT with an overflowing size is answered 521 (frame 17) and opens no chunk; tshark decodes neither it nor the QUIT of frame 20",
        "zeek/smtp-bdat-cmd-invalid.pcapng": "'BDAT' without a size (521) opens no chunk; tshark misses the QUIT of frame 20",
        "zeek/smtp-bdat-cmd-negative-chunk-size.pcap": "'BDAT -1 LAST' is answered 521 (frame 17) and opens no chunk; tshark decodes neither it nor the QUIT of frame 20",
        "zeek/smtp-bdat-gap.pcap": "client bytes 201-1200 were never captured (the server ACKs them in frame 24); DATA (frame 26) and QUIT (frame 34) follow and are answered 354 and 221; tshark stays in BDAT mode",
        "zeek/smtp-bdat-pipeline-8bitmime.pcap": bdat + " (BDAT 4404 LAST in frame 9, BDAT 8757 LAST in frame 17)",
        "zeek/smtp-mail-transactions-invalid.pcap": dataAfterRejection + " ('500 unrecognized command' to each 'Hello, Alice (n)' and '.', frames 31-55)",
    ]
}

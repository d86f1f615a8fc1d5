import SMTPTraceCapture
import SMTPTraceFindings
import SMTPTraceSMTP
import Testing

/// Every finding of the catalogue, on captures of real software (Fixtures/README.md says how
/// each was made): the exact findings each fixture must produce — so each id is seen firing
/// where it must and staying silent everywhere else, the clean recordings included.
struct FindingTests {
    static let expected: [String: [String]] = [
        "case-after-quit.pcap": ["smtp.after_quit@12"],
        "case-bad-reply.pcap": ["smtp.bad_reply@8", "smtp.bad_reply@10"],
        "case-bare-lf.pcap": ["smtp.bare_lf@6", "smtp.bare_lf@15", "smtp.bare_cr@15"],
        "case-clean.pcap": [],
        "case-early-talker.pcap": ["smtp.early_talker@4"],
        "case-long-lines.pcap": ["smtp.line_too_long@10", "smtp.line_too_long@13", "smtp.line_too_long@19"],
        "case-pipelining-unadvertised.pcap": ["smtp.pipelining_unadvertised@9"],
        "case-sequence-error-lax.pcap": ["smtp.sequence_error@9", "smtp.sequence_error@11"],
        "case-sequence-error.pcap": ["smtp.sequence_error@9", "smtp.sequence_error@11"],
        "case-service-closing.pcap": ["smtp.service_closing@12"],
        "case-size-exceeded.pcap": ["smtp.size_exceeded@13"],
        "case-smuggling-lenient.pcap": ["smtp.bare_lf@15", "smtp.smuggling@15"],
        "case-smuggling.pcap": ["smtp.bare_lf@15", "smtp.smuggling@15"],
        "case-starttls-injection.pcap": [
            "smtp.starttls_injection@9", "smtp.unanswered_command@9", "smtp.starttls_injection@12",
            "smtp.starttls_injection@13",
        ],
        "case-unanswered.pcap": ["smtp.unanswered_command@9"],
        "case-unsolicited.pcap": ["smtp.unsolicited_reply@11"],
        "founding-auth.pcap": ["smtp.auth_cleartext@15", "smtp.auth_cleartext@44"],
        "founding-bdat.pcap": [],
        "founding-ehlo-fallback-rset.pcap": ["smtp.ehlo_fallback@8"],
        "founding-ehlo-fallback.pcap": ["smtp.ehlo_fallback@8"],
        "founding-escape.pcap": ["smtp.helo_syntax@6"],
        "founding-helo-trailing-dot.pcap": [
            "smtp.helo_syntax@6", "smtp.helo_rejected@8", "smtp.ehlo_fallback@8", "smtp.helo_syntax@11",
            "smtp.helo_rejected@12", "smtp.no_greeting_accepted@12",
        ],
        "founding-helo-trailing-space.pcap": [
            "smtp.helo_syntax@6", "smtp.helo_rejected@8", "smtp.ehlo_fallback@8", "smtp.no_greeting_accepted@8",
        ],
        "founding-missing-helo-accepted.pcap": ["smtp.missing_helo@6"],
        "founding-missing-helo.pcap": ["smtp.missing_helo@6"],
        "founding-pipelining.pcap": [],
        "founding-reply-during-data.pcap": ["smtp.reply_during_data@36", "smtp.service_closing@38", "tcp.half_open@39"],
        "founding-starttls.pcap": ["tcp.reset@39"],
        "ipv4-ethernet.pcap": [], "ipv6-ethernet.pcap": [], "null-loopback.pcap": [], "qinq.pcap": [],
        "raw-ip.pcap": [], "reordered.pcap": [], "sll.pcap": [], "sll2.pcap": [], "two-sessions.pcap": [],
        "vlan.pcap": [], "ipv4.pcapng": [],
    ]

    /// Ids that fire on corpus captures only (a real hole, a real mid-stream pickup).
    static let corpusOnly: [String: String] = [
        "tcp.gap": "zeek/smtp-bdat-gap.pcap",
        "tcp.midstream": "arkime/smtp-html.pcap",
    ]

    static func findings(_ name: String) throws -> [Finding] { try analyzeFixture(name).findings }

    @Test(arguments: expected.keys.sorted())
    func exactFindings(_ fixture: String) throws {
        let got = try Self.findings(fixture).map { "\($0.kind.id)@\($0.frame)" }
        #expect(got.sorted() == Self.expected[fixture]!.sorted(), "\(fixture)")
    }

    @Test func everyIDFiresSomewhereAndIsSilentOnTheCleanRecordings() throws {
        let fired = Set(Self.expected.values.flatMap { $0.map { String($0.split(separator: "@")[0]) } })
        for kind in FindingKind.allCases where Self.corpusOnly[kind.id] == nil {
            #expect(fired.contains(kind.id), "\(kind.id) fires on no fixture")
        }
        for clean in ["case-clean.pcap", "ipv4-ethernet.pcap", "founding-pipelining.pcap", "founding-bdat.pcap"] {
            #expect(try Self.findings(clean).isEmpty)
        }
        guard let corpus = TestPaths.corpus else { return }
        for (id, path) in Self.corpusOnly {
            let result = try analyze([corpus.appendingPathComponent(path).path])
            #expect(result.findings.contains { $0.kind.id == id }, "\(id) on \(path)")
        }
    }

    func evidence(_ f: Finding) -> [String: EvidenceValue] {
        Dictionary(f.evidence.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
    }

    /// Ids and close kinds are compared and hashed by case: each equal to itself only, as by
    /// its text, and every one its own dictionary key.
    @Test func findingKindsAndClosesAreEqualOnlyToThemselves() {
        for a in FindingKind.allCases {
            for b in FindingKind.allCases { #expect((a == b) == (a.id == b.id), "\(a.id) \(b.id)") }
        }
        #expect(Set(FindingKind.allCases).count == FindingKind.allCases.count)
        for a in SessionClose.allCases {
            for b in SessionClose.allCases { #expect((a == b) == (a.rawValue == b.rawValue)) }
        }
        var counts: [SessionClose: Int] = [:]
        for (i, close) in SessionClose.allCases.enumerated() { counts[close, default: 0] += i + 1 }
        #expect(SessionClose.allCases.map { counts[$0] } == SessionClose.allCases.indices.map { $0 + 1 })
    }

    /// 552 then 421 while the DATA is still arriving: the server is at fault, at frame 36.
    @Test func replyDuringData() throws {
        let f = try #require(try Self.findings("founding-reply-during-data.pcap").first { $0.kind == .replyDuringData })
        #expect(f.party == .server)
        #expect(f.severity == .error)
        #expect(evidence(f)["reply_code"] == .int(552))
        #expect(evidence(f)["reply_codes"] == .string("552,421"))
        #expect(evidence(f)["command_frame"] == .int(13))
        #expect(evidence(f)["client_bytes_after"] == .int(24_616))
        #expect(f.line?.hasPrefix("552 5.3.4") == true)
        #expect(f.kind.reference == "RFC 5321 §4.2, §4.3.2; RFC 821 §4.2, §4.4")
    }

    @Test func trailingDotRejectedWith501AndTheFallbackDance() throws {
        let all = try Self.findings("founding-helo-trailing-dot.pcap")
        let syntax = all.filter { $0.kind == .heloSyntax }
        #expect(syntax.map { evidence($0)["cause"] } == [.string("trailing_dot"), .string("trailing_dot")])
        #expect(syntax.allSatisfy { $0.party == .client && $0.severity == .warning })
        let rejected = all.filter { $0.kind == .heloRejected }
        #expect(rejected.map(\.frame) == [8, 12])
        #expect(rejected.map { evidence($0)["cause"] } == [.string("trailing_dot"), .string("trailing_dot")])
        #expect(rejected.map { evidence($0)["enhanced_code"] } == [.string("5.5.4"), .string("5.5.4")])
        #expect(rejected.allSatisfy { $0.party == .client })
        let fallback = try #require(all.first { $0.kind == .ehloFallback })
        #expect(fallback.severity == .warning)
        #expect(evidence(fallback)["rset"] == .bool(true))
        #expect(evidence(fallback)["rset_reply"] == .int(250))
        #expect(evidence(fallback)["outcome"] == .string("refused"))
        let none = try #require(all.first { $0.kind == .noGreetingAccepted })
        #expect(none.party == .client)
        #expect(evidence(none)["attempts"] == .int(2))
    }

    @Test func ehloFallbackAcceptedIsInfoAndRSET503IsTolerated() throws {
        let plain = try #require(try Self.findings("founding-ehlo-fallback.pcap").first)
        #expect(plain.severity == .info)
        #expect(plain.party == .server)
        #expect(evidence(plain)["rset"] == .bool(false))
        #expect(evidence(plain)["outcome"] == .string("accepted"))
        let rset = try #require(try Self.findings("founding-ehlo-fallback-rset.pcap").first)
        #expect(rset.severity == .info)
        #expect(evidence(rset)["rset_reply"] == .int(503))
        #expect(rset.message.contains("tolerated per RFC 1869"))
    }

    @Test func missingHeloSaysWhetherTheServerAcceptedIt() throws {
        let refused = try #require(try Self.findings("founding-missing-helo.pcap").first)
        #expect(evidence(refused)["accepted_by_server"] == .bool(false))
        #expect(evidence(refused)["reply_code"] == .int(503))
        let lax = try #require(try Self.findings("founding-missing-helo-accepted.pcap").first)
        #expect(evidence(lax)["accepted_by_server"] == .bool(true))
        #expect(lax.message.contains("lax server"))
    }

    /// Both readings of `<LF>.<LF>`, and which one each server took.
    @Test func smugglingReportsBothReadings() throws {
        let strict = try #require(try Self.findings("case-smuggling.pcap").first { $0.kind == .smuggling })
        #expect(evidence(strict)["sequence"] == .string("<LF>.<LF>"))
        #expect(evidence(strict)["server_reading"] == .string("strict"))
        #expect(evidence(strict)["lenient_commands_after"] == .string("MAIL,RCPT,DATA"))
        #expect(evidence(strict)["lenient_message_bytes"] == .int(245))
        let lenient = try #require(try Self.findings("case-smuggling-lenient.pcap").first { $0.kind == .smuggling })
        #expect(evidence(lenient)["server_reading"] == .string("lenient"))
        // The lenient server ran the smuggled commands: they are in the dialogue.
        let session = try #require(try analyzeFixture("case-smuggling-lenient.pcap").sessions.first)
        #expect(session.verbs == ["EHLO", "MAIL", "RCPT", "DATA", "MAIL", "RCPT", "DATA", "QUIT"])
        #expect(session.transactions.map { session.text[$0.mailFrom] } == ["alice@example.org", "evil@example.org"])
        let strictSession = try #require(try analyzeFixture("case-smuggling.pcap").sessions.first)
        #expect(strictSession.verbs == ["EHLO", "MAIL", "RCPT", "DATA", "QUIT"])
    }

    @Test func sequenceErrorsSayWhenTheServerWasLax() throws {
        let lax = try Self.findings("case-sequence-error-lax.pcap")
        #expect(lax.map { evidence($0)["accepted_by_server"] } == [.bool(true), .bool(false)])
        #expect(lax[0].message == "RCPT before MAIL; the server accepted it (250), a lax server")
    }

    @Test func sizeAgainstTheAdvertisedLimit() throws {
        let f = try #require(try Self.findings("case-size-exceeded.pcap").first)
        #expect(evidence(f)["size"] == .int(3000))
        #expect(evidence(f)["limit"] == .int(1000))
        #expect(evidence(f)["limit_source"] == .string("server"))
    }

    @Test func starttlsInjectionCauses() throws {
        let f = try Self.findings("case-starttls-injection.pcap").filter { $0.kind == .starttlsInjection }
        #expect(f.map { evidence($0)["cause"] } == [
            .string("pipelined_after_starttls"), .string("cleartext_instead_of_tls"), .string("server_cleartext_after_220"),
        ])
        #expect(f.map(\.party) == [.client, .client, .server])
    }

    /// A decrypted capture (both sides go on in cleartext, the client with EHLO) is TLS, not an
    /// injection.
    @Test func decryptedSTARTTLSIsNoInjection() throws {
        guard let corpus = TestPaths.corpus else { return }
        let result = try analyze([corpus.appendingPathComponent("arkime/smtp-decrypted.pcap").path])
        #expect(result.sessions.allSatisfy { $0.tls && $0.tlsDecrypted })
        #expect(!result.findings.contains { $0.kind == .starttlsInjection })
    }

    @Test func authSecretsNeverReachARecord() throws {
        let result = try analyzeFixture("founding-auth.pcap")
        #expect(result.sessions.map { $0.text[$0.authMechanism] } == ["PLAIN", "LOGIN"])
        #expect(result.sessions.flatMap { s in s.commands.filter { $0.kind == .auth }.map { s.text[$0.argument] } } == ["PLAIN", "LOGIN"])
        let f = result.findings.filter { $0.kind == .authCleartext }
        #expect(f.map { evidence($0)["mechanism"] } == [.string("PLAIN"), .string("LOGIN")])
    }
}

/// RFC 5321 §4.1.1.1 and §4.1.2 as `HeloDefect` reads them, octet by octet.
struct HeloDefectTests {
    @Test func classifiesArguments() {
        let cases: [(String, HeloDefect?)] = [
            ("mail.example.com", nil), ("localhost", nil), ("a", nil), ("x-1.example", nil),
            ("mail.example.com.", .trailingDot), ("localhost.", .trailingDot),
            ("", .missing), ("  ", .missing), ("\t", .missing),
            ("mail.example.com ", .trailingSpace), ("mail\t", .trailingSpace),
            ("[192.0.2.1]", nil), ("[IPv6:2001:db8::1]", nil), ("[ipv6:::1]", nil), ("[tag:text]", nil),
            ("192.0.2.1", .bareIP), ("2001:db8::1", .bareIP), ("::ffff:192.0.2.1", .bareIP),
            ("[192.0.2.1", .invalid), ("[IPv6:]", .invalid), ("[]", .invalid),
            ("-bad.example", .invalid), ("bad-.example", .invalid), ("a..b", .invalid), (".a", .invalid),
            ("exa_mple.com", .invalid), ("a.b..", .invalid), ("-.", .invalid),
            (String(repeating: "a", count: 63) + ".example", nil),
            (String(repeating: "a", count: 64) + ".example", .invalid),
            ("256.1.1.1", nil),  // not an address: digits make a valid domain
            ("1.2.3", nil), ("1.2.3.4.5", nil), ("01.2.3.4", .bareIP), ("1234.2.3.4", nil),
        ]
        for (argument, expected) in cases {
            #expect(HeloDefect.of(argument) == expected, "\(argument)")
        }
    }
}

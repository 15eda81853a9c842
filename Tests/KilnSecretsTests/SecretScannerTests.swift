import Foundation
import KilnSecrets
import KilnTestSupport
import Testing

/// The rules one by one, on inputs small enough to read: what is a secret, what is a
/// placeholder, and that nothing kiln prints carries the secret.
@Suite struct SecretScannerTests {
    private func scan(_ text: String, as name: String) -> [SecretFinding] {
        SecretScanner.scan(Array(text.utf8), format: .init(fileName: name))
    }

    private func rules(_ text: String, as name: String) -> [String] {
        scan(text, as: name).map { "\($0.line):\($0.rule.rawValue)" }
    }

    @Test func secretNamedKeysInEveryFormat() {
        #expect(rules("pg_host = db\npg_password = s3cr3t-Value  # prod\n", as: "kong.conf") == ["2:named-value"])
        #expect(rules("spring.datasource.password=hunter2hunter2\n", as: "application.properties") == ["1:named-value"])
        #expect(rules("spring.mail.password : hunter2hunter2\n", as: "application.properties") == ["1:named-value"])
        #expect(rules("export DB_PASSWORD='p@ss w0rd'\n", as: ".env") == ["1:named-value"])
        #expect(rules("db:\n  password: \"pa55\"\n  - clientSecret: abc123def\n", as: "values.yaml") == ["2:named-value", "3:named-value"])
        #expect(rules("[auth]\nclient_secret = \"0123456789abcdef\"\n", as: "config.toml") == ["2:named-value"])
        #expect(rules("<Resource username=\"app\" password=\"pa55word\" />\n<password>pa55word2</password>\n", as: "server.xml") == ["1:named-value", "2:named-value"])
        #expect(rules("//registry.npmjs.org/:_auth=dXNlcjpwYXNz\n", as: ".npmrc") == ["1:named-value"])
    }

    @Test func secretWordsFollowedByANumberOrAQualifier() {
        // A hostile re-test found these baked: the secret word is not the key's last word.
        #expect(rules("password2 = hunter2hunter2\npassword_1 = hunter2hunter2\n", as: "kong.conf") == ["1:named-value", "2:named-value"])
        #expect(rules("PASSWORD_OLD=hunter2hunter2\nadmin_password_2=hunter2hunter2\napi.token.new=abcdef123456\n", as: ".env")
                == ["1:named-value", "2:named-value", "3:named-value"])
        // Other words after a secret word, placeholders and numbered non-secrets stay quiet.
        #expect(rules("password_min_length = 12\npassword_2 = ${DB_PASSWORD_2}\nport2 = 8080\nserver.old = x\n", as: "kong.conf").isEmpty)
    }

    @Test func yamlBlockScalars() {
        // The value is the lines indented deeper than the key (blank lines among them), whatever
        // the indicators; the finding is on the key's line; the next key ends the block.
        let text = "db:\n  password: |\n    hunter2hunter2\n\n    second line\n  user: app\n- api_key: >-2 # folded\n    abc123\ntoken: |+\n"
        #expect(scan(text, as: "values.yaml").map { "\($0.line):\($0.what)" } == [
            "2:a password (YAML key \"password\", block scalar)", "7:an API key (YAML key \"api_key\", block scalar)",
        ])
        // The digest covers the value: another value, another fingerprint; indentation alone is not a change.
        let one = scan("password: |\n  abc\n  def\n", as: "a.yaml")
        #expect(one.count == 1)
        #expect(scan("password: |\n  abc\n  deg\n", as: "a.yaml").first?.secretDigest != one.first?.secretDigest)
        #expect(scan("password: |\n      abc\n      def\n", as: "a.yaml").first?.secretDigest == one.first?.secretDigest)
        // The end of the input ends the block; an inline allow on the key's line allows it.
        #expect(scan("password: |  # kiln:allow-secret\n  abc", as: "a.yaml").first?.allowedInline == true)
        // Not a block scalar: `|abc` (no header), a key not named for a secret; in other formats
        // `|` is the value itself, as before.
        #expect(rules("password: |abc\n  def\ndescription: |\n  the password is set elsewhere\n", as: "a.yaml") == [])
        #expect(rules("password: |\n  abc\n", as: "a.properties") == ["1:named-value"])
        // However the input is split into chunks.
        let bytes = Array(text.utf8)
        for size in [1, 5, 17] {
            let scanner = SecretScanner(format: .yaml)
            var start = 0
            while start < bytes.count {
                let end = min(bytes.count, start + size)
                bytes[start..<end].withUnsafeBytes { scanner.update($0) }
                start = end
            }
            #expect(scanner.finish() == scan(text, as: "values.yaml"), "chunks of \(size)")
        }
        // A private key in a block scalar: its own rule on its BEGIN line, as before.
        #expect(rules("tls.key: |\n  -----BEGIN PRIVATE KEY-----\n  MIIE\n  -----END PRIVATE KEY-----\n", as: "a.yaml") == ["2:private-key"])
    }

    @Test func jsonByStructure() {
        let realm = """
            {
              "clients": [ { "clientId": "gateway", "secret": "0f4c2d9e-1a2b" } ],
              "users": [ { "username": "admin", "credentials": [ { "type": "password",
                 "value": "admin-pass" } ] } ],
              "components": { "keys": [ { "config": { "privateKey": [ "MIIEowIBAAKCAQEA" ] } } ] },
              "value": "not a credential", "accessTokenLifespan": 300
            }
            """
        let found = scan(realm, as: "realm.json")
        #expect(found.map { "\($0.line):\($0.what)" } == [
            "2:a client secret (JSON key \"secret\")",
            "4:a user credential (JSON key \"value\" in \"credentials\")",
            "5:a private key (JSON key \"privateKey\")",
        ])
        // Minified: one line, the same structure.
        #expect(rules(#"{"clients":[{"clientId":"a","secret":"x1y2z3"}],"users":[{"credentials":[{"value":"pw"}]}]}"#, as: "r.json") == ["1:named-value", "1:named-value"])
    }

    @Test func placeholdersAreNotSecrets() {
        let clean = """
            password=
            password=${DB_PASSWORD}
            password=${DB_PASSWORD:}
            password=$DB_PASSWORD
            password={{ .Values.db.password }}
            password=%(db_password)s
            password=<your password>
            password=***
            password=null
            password = ~
            token=true
            secret=${A}${B}
            url=postgres://app:${DB_PASSWORD}@db/app
            url=postgres://app:$DB_PASSWORD@db/app
            url=https://user@example.com/
            PWD=/srv/app
            password_min_length=12
            token_ttl=3600
            """
        #expect(rules(clean, as: "app.properties") == [])
        #expect(rules(#"{"secret": "${KC_SECRET}", "password": "**********", "credentials": [{"value": "${ADMIN}"}], "token": null}"#, as: "r.json") == [])
        #expect(rules("password: \"{{ vault_password }}\"\nsecret: |\n  ${BLOCK}\n\n  {{ .x }}\n", as: "v.yaml") == [])
        // JSON read as lines (not starting with `{`): an opening structure is no value.
        #expect(rules("# generated\n{\n  \"credentials\": [\n    {\"value\": \"${A}\"}\n  ],\n  \"secrets\": {}\n}\n", as: "realm.json") == [])
        // A prefix before a placeholder is baked: a finding.
        #expect(rules("password=prefix${X}\n", as: "a.env") == ["1:named-value"])
    }

    @Test func tokensByPrefix() {
        let text = """
            a=ghp_0123456789abcdefghijABCDEFGHIJ012345
            b="glpat-abcdefghij0123456789"
            c: xoxb-1234567890-1234567890123-abcdefghijklmnopqrstuvwx
            d sk_live_0123456789abcdefghijABCD
            e AIzaSyA0123456789abcdefghijABCDEFGHIJ_-
            f npm_0123456789abcdefghijABCDEFGHIJabcdef
            g pypi-AgEIcHlwaS5vcmc0123456789012345678901234567890123456789012345678901234567890
            h Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl
            i postgres://app:Sup3rS3cret@db:5432/app
            j https://hooks.slack.com/services/T01234567/B0123456789/abcdefghijklmnopqrstuvwx
            k GOCSPX-0123456789abcdefghijABCDEF
            """
        #expect(rules(text, as: "notes.txt") == [
            "1:github-token", "2:gitlab-token", "3:slack-token", "4:stripe-key", "5:google-api-key", "6:npm-token",
            "7:pypi-token", "8:jwt", "9:url-password", "10:slack-webhook", "11:google-client-secret",
        ])
        // Too short, or not at a token's start: nothing.
        #expect(rules("ghp_short xghp_0123456789abcdefghijABCDEFGHIJ012345 sk_live_short eyJ.x\n", as: "notes.txt") == [])
    }

    @Test func awsKeyIdNeedsItsSecretBeside() {
        let id = "AKIAABCDEFGHIJKLMNOP"
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKE"
        #expect(rules("aws_access_key_id = \(id)\n", as: "credentials") == [])
        #expect(rules("aws_access_key_id = \(id)\naws_secret_access_key = \(secret)\n", as: "credentials") == ["1:aws-access-key", "2:named-value"])
        #expect(rules("\(id),\(secret)\n", as: "keys.csv") == ["1:aws-access-key"])
    }

    @Test func privateKeysAndKeyStores() throws {
        let pem = "x\n-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIA\n-----END EC PRIVATE KEY-----\nafter=1\n"
        #expect(rules(pem, as: "tls.key") == ["2:private-key"])
        // The digest covers the body: another key, another fingerprint.
        let other = scan(pem.replacingOccurrences(of: "MHcCAQEEIA", with: "MHcCAQEEIB"), as: "tls.key")
        #expect(other.first?.secretDigest != scan(pem, as: "tls.key").first?.secretDigest)
        #expect(rules(#"{"private_key": "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"}"#, as: "sa.json") == ["1:named-value", "1:private-key"])
        #expect(rules("PuTTY-User-Key-File-3: ssh-ed25519\nPrivate-Lines: 1\nAAAA\nPrivate-MAC: 00\n", as: "k.ppk") == ["1:putty-key"])
        #expect(rules("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", as: "ca.pem") == [])
        let jks: [UInt8] = [0xFE, 0xED, 0xFE, 0xED, 0, 0, 0, 2] + [UInt8](repeating: 7, count: 64)
        #expect(SecretScanner.scan(jks, format: .keyValue).map(\.rule) == [.keyStore])
        let p12 = try Data(contentsOf: URL(fileURLWithPath: "\(repositoryRoot)/Tests/Fixtures/secrets/planted/keystore.p12"))
        #expect(SecretScanner.scan(Array(p12), format: .keyValue).map(\.rule) == [.keyStore])
    }

    @Test func inlineAllowComment() {
        let found = scan("pg_password = demo-only  # kiln:allow-secret (throwaway dev database)\npg_user = kong # kiln:allow-secret\n", as: "kong.conf")
        #expect(found.count == 1)
        #expect(found.first?.allowedInline == true)
        // Not a comment: the secret cannot allow itself.
        #expect(scan("password=kiln:allow-secret\n", as: "a.properties").first?.allowedInline == false)
    }

    @Test func chunkingDoesNotChangeFindings() {
        var text = ""
        for number in 0..<2000 { text += "key\(number) = value \(number)\n" }
        text += "api_key = 0123456789abcdef\n" + String(repeating: "x", count: 100_000) + " ghp_0123456789abcdefghijABCDEFGHIJ012345\n"
        let bytes = Array(text.utf8)
        let whole = SecretScanner.scan(bytes, format: .keyValue)
        for size in [1, 7, 4096, 65_537] {
            let scanner = SecretScanner(format: .keyValue)
            var start = 0
            while start < bytes.count {
                let end = min(bytes.count, start + size)
                bytes[start..<end].withUnsafeBytes { scanner.update($0) }
                start = end
            }
            #expect(scanner.finish() == whole, "chunks of \(size)")
        }
        #expect(whole.map(\.line) == [2001, 2002])
    }

    @Test func configValues() {
        #expect(SecretScanner.scan(key: "KONG_PG_PASSWORD", value: "s3cret", kind: .environment).map(\.what) == ["a password (ENV name \"KONG_PG_PASSWORD\")"])
        #expect(SecretScanner.scan(key: "KONG_PG_PASSWORD", value: "${PG}", kind: .environment).isEmpty)
        #expect(SecretScanner.scan(key: "DATABASE_URL", value: "postgres://a:b1@db/x", kind: .environment).map(\.rule) == [.urlPassword])
        #expect(SecretScanner.scan(key: "org.opencontainers.image.source", value: "https://github.com/acme/x", kind: .label).isEmpty)
    }

    @Test func messagesNeverCarryTheSecret() throws {
        let secret = "Zq9-unique-Secret-Value-77"
        let findings = scan("db.password=\(secret)\nurl=mysql://u:\(secret)@h/\n", as: "a.properties")
        #expect(findings.count == 2)
        for finding in findings {
            let located = LocatedFinding(source: "overlays/a.properties", target: .file("/etc/a.properties"), finding: finding)
            #expect(!located.message.contains(secret))
            #expect(!located.message.contains("Zq9"))
            #expect(located.fingerprint.count == 16)
            #expect(located.message.hasPrefix("overlays/a.properties:\(finding.line): "))
            #expect(located.message.hasSuffix("keep it out of the image (docs/secrets.md) or allow it with allow-secrets: [\(located.fingerprint)]"))
        }
        // The fingerprint follows the image path and the secret.
        let one = LocatedFinding(source: "a", target: .file("/etc/a"), finding: findings[0])
        let elsewhere = LocatedFinding(source: "a", target: .file("/etc/b"), finding: findings[0])
        #expect(one.fingerprint != elsewhere.fingerprint)
        let changed = scan("db.password=\(secret)x\n", as: "a.properties")[0]
        #expect(LocatedFinding(source: "a", target: .file("/etc/a"), finding: changed).fingerprint != one.fingerprint)
        #expect(try SecretPolicy.fingerprints(parsing: "3F9A0C1BE27D4410, 0123456789abcdef", what: "--allow-secret") == ["3f9a0c1be27d4410", "0123456789abcdef"])
        #expect(throws: SecretPolicyError.self) { try SecretPolicy.fingerprints(parsing: "nope", what: "--allow-secret") }
    }

    @Test func absurdInputIsLinearAndSafe() {
        // Long runs of candidate starts: each byte is looked at a bounded number of times.
        let inputs = [
            String(repeating: "eyJ", count: 200_000), String(repeating: "://:@", count: 100_000),
            String(repeating: "ghp_", count: 100_000), String(repeating: "{\"credentials\":[", count: 50_000),
            String(repeating: "\"", count: 300_001), String(repeating: "-----BEGIN PRIVATE KEY-----", count: 10_000),
        ]
        for input in inputs {
            for format: SecretScanner.Format in [.keyValue, .json, .yaml, .xml] {
                _ = SecretScanner.scan(Array(input.utf8), format: format)
            }
        }
    }
}

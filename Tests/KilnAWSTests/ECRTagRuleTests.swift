import KilnAWS
import KilnRegistry
import OCI
import Testing

/// The rules behind ECR's 2025-26 repository settings, case by case: which tag an exclusion
/// filter makes follow the opposite rule, and which creation template applies to a repository.
@Suite struct ECRTagRuleTests {
    @Test func exclusionFiltersFlipTheRuleForTheTagsTheyMatch() {
        let immutable = TagMutability(.immutableWithExclusion, exclusions: ["latest", "dev-*", "*-rc*"])
        #expect(immutable.isImmutable("v1.2.3"))
        #expect(!immutable.isImmutable("latest"))
        #expect(immutable.isImmutable("latest2"), "a filter matches the whole tag")
        #expect(!immutable.isImmutable("dev-"))
        #expect(!immutable.isImmutable("dev-feature.x"))
        #expect(!immutable.isImmutable("1.0-rc1"))
        #expect(immutable.isImmutable("xdev-1"))
        let mutable = TagMutability(.mutableWithExclusion, exclusions: ["release-*", "v*.*.*"])
        #expect(!mutable.isImmutable("main"))
        #expect(mutable.isImmutable("release-2026"))
        #expect(mutable.isImmutable("v1.2.3"))
        #expect(!mutable.isImmutable("v1.2"))
        #expect(mutable.reason(for: "v1.2.3") == "the tag is immutable in this repository (MUTABLE_WITH_EXCLUSION; it matches the exclusion filter 'v*.*.*')")
        // Plain settings ignore filters; `*` alone matches everything, also the empty run.
        #expect(TagMutability(.immutable, exclusions: ["*"]).isImmutable("x"))
        #expect(!TagMutability(.mutable, exclusions: ["*"]).isImmutable("x"))
        #expect(!TagMutability(.immutableWithExclusion, exclusions: ["**a**"]).isImmutable("a"))
        #expect(TagMutability(.immutableWithExclusion, exclusions: ["a*b*c"]).isImmutable("abcb"))
        // A long hostile tag against many stars stays fast (no exponential backtracking).
        #expect(TagMutability(.immutableWithExclusion, exclusions: [String(repeating: "*a", count: 60) + "b"]).isImmutable(String(repeating: "a", count: 128)))
    }

    @Test func filtersAreCheckedAsECRDocumentsThem() {
        for valid in ["a", "dev-*", "v1.2_3", String(repeating: "x", count: 128), "*"] { #expect(TagMutability.isValidExclusion(valid), "\(valid)") }
        for invalid in ["", "a/b", "a b", "é", String(repeating: "x", count: 129), "a?"] { #expect(!TagMutability.isValidExclusion(invalid), "\(invalid)") }
    }

    @Test func theTemplateWithTheLongestPrefixAppliesElseRoot() {
        func template(_ prefix: String, _ appliedFor: [String] = ["CREATE_ON_PUSH"]) -> ECRCreationTemplate {
            ECRCreationTemplate(prefix: prefix, appliedFor: appliedFor, tagMutability: .mutable)
        }
        let templates = [template("ROOT"), template("prod"), template("prod/team/", ["REPLICATION"]), template("pro")]
        #expect(ECRCreationTemplate.applying(to: "prod/app", in: templates)?.prefix == "prod")
        #expect(ECRCreationTemplate.applying(to: "prod/team/app", in: templates)?.prefix == "prod/team/")
        #expect(ECRCreationTemplate.applying(to: "prod/team/app", in: templates)?.createsOnPush == false)
        #expect(ECRCreationTemplate.applying(to: "production/app", in: templates)?.prefix == "ROOT", "a prefix stands for PREFIX/")
        #expect(ECRCreationTemplate.applying(to: "prod", in: templates)?.prefix == "ROOT")
        #expect(ECRCreationTemplate.applying(to: "x/y", in: [template("prod")]) == nil)
    }

    /// DescribeRepositories' and the templates' documents: the setting and filters as ECR
    /// writes them; an unknown setting is MUTABLE (ECR still enforces its own), and filters ECR
    /// could never hold (control characters, too long) are left out of rule and messages.
    @Test func repositoryDocumentsAreReadStrictly() throws {
        func read(_ json: String) throws -> TagMutability {
            ECRClient.tagMutability(try #require(JSONValue.object(parsing: Array(json.utf8), what: "test")))
        }
        #expect(try read(#"{"imageTagMutability": "IMMUTABLE_WITH_EXCLUSION", "imageTagMutabilityExclusionFilters": [{"filterType": "WILDCARD", "filter": "dev-*"}]}"#)
                == TagMutability(.immutableWithExclusion, exclusions: ["dev-*"]))
        #expect(try read(#"{"repositoryName": "a"}"#) == .mutable)
        #expect(try read(#"{"imageTagMutability": "SOMETHING_NEW"}"#) == .mutable)
        #expect(try read(#"{"imageTagMutability": "MUTABLE_WITH_EXCLUSION", "imageTagMutabilityExclusionFilters": [{"filter": "a\u001b[2J"}, {"filter": "ok"}]}"#).exclusions == ["ok"])
    }
}

import KilnRegistry

/// A repository creation template of an ECR registry (`DescribeRepositoryCreationTemplates`):
/// the settings ECR gives a repository it creates itself. With `CREATE_ON_PUSH` in
/// `appliedFor`, a push to a missing repository the template applies to creates it.
package struct ECRCreationTemplate: Sendable, Equatable {
    /// `prod/team` (standing for `prod/team/`), or `ROOT` for repositories no other template
    /// applies to.
    package var prefix: String
    /// `REPLICATION`, `PULL_THROUGH_CACHE`, `CREATE_ON_PUSH`.
    package var appliedFor: [String]
    /// The rule repositories made from it get.
    package var tagMutability: TagMutability

    package init(prefix: String, appliedFor: [String], tagMutability: TagMutability) {
        self.prefix = prefix
        self.appliedFor = appliedFor
        self.tagMutability = tagMutability
    }

    package var createsOnPush: Bool { appliedFor.contains("CREATE_ON_PUSH") }

    /// The template that applies to `repository`: the one with the longest prefix it lies
    /// under (a prefix always ends in an assumed `/`), else `ROOT`'s.
    package static func applying(to repository: String, in templates: [ECRCreationTemplate]) -> ECRCreationTemplate? {
        let matching = templates.filter { template in
            guard template.prefix != "ROOT" else { return false }
            let prefix = template.prefix.hasSuffix("/") ? template.prefix : template.prefix + "/"
            return repository.hasPrefix(prefix)
        }
        if let longest = matching.max(by: { $0.prefix.count < $1.prefix.count }) { return longest }
        return templates.first { $0.prefix == "ROOT" }
    }
}

import ArgumentParser

/// What `kiln plan` prints: `--format`, or its older spellings `--json` and `--terraform`.
enum PlanFormat: String, CaseIterable, ExpressibleByArgument {
    /// `NAME REPO@sha256:…` per image.
    case text
    /// `{"images": {NAME: {image, digest, tag, repository}}}`.
    case json
    /// Terraform's external data source protocol.
    case terraform
    /// CodePipeline's ECS standard deploy file: `[{"name", "imageUri"}, …]`.
    case imagedefinitions
    /// CodeDeploy blue/green's `{"ImageURI": …}`, for one spec.
    case imagedetail

    /// `--format`, `--json` and `--terraform` together: at most one format may be asked for.
    static func chosen(format: PlanFormat?, json: Bool, terraform: Bool) throws -> PlanFormat {
        let asked = [format, json ? .json : nil, terraform ? .terraform : nil].compactMap { $0 }
        guard Set(asked).count <= 1 else {
            throw ValidationError("--format, --json and --terraform each choose the output: give one")
        }
        return asked.first ?? .text
    }
}

import KilnDockerfile
import KilnRecipe
import KilnSpec
import KilnStore
import OCI

extension SpecDockerfile {
    /// The Dockerfile evaluated against the locked base's config, as `kiln docker build`
    /// evaluates it against the base it pulls: the base's Env, WorkingDir and Shell feed the
    /// expansion, its ONBUILD triggers are refused. Every platform image of the spec must give
    /// the same layer and edits (one spec, one recipe); ADD's local archives are refused here.
    func recipe(for spec: ImageSpec, snapshot: BaseSnapshot) async throws -> DockerfileRecipe {
        let what = "\(spec.base) (locked for \(spec.name))"
        // The platforms a bake of the spec reads (``ImageGraph``'s rule, as ``Baker`` applies it).
        let graph = try await ImageGraph.read(from: snapshot.source, root: snapshot.root, what: what)
        let images = try await graph.images(spec.platforms.includes, requested: spec.platforms.text)
        let configs = images.map { (platform: graph.isIndex ? $0.platform.description : "the base", config: $0.config) }
        var chosen: (platform: String, recipe: DockerfileRecipe)?
        for (platform, config) in configs {
            let recipe = try dockerfile.evaluate(context: context, baseConfig: DockerfileBaseConfig(imageConfig: config), buildArgs: buildArgs)
            try recipe.refuseArchives()
            if let (first, earlier) = chosen, earlier.overlays != recipe.overlays || earlier.edits != recipe.edits {
                throw SpecError(location: spec.path, message: "\(dockerfile.path) gives \(first) and \(platform) different files or config (their base configs differ); give the spec one platform")
            }
            if chosen == nil { chosen = (platform, recipe) }
        }
        guard let chosen else { throw SpecError(location: spec.path, message: "the locked base has no image of the spec's platforms") }
        return chosen.recipe
    }
}

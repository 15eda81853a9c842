import KilnLayer
import KilnRecipe
import OCI

extension Dockerfile {
    /// The base image: the ARGs before FROM (with `--build-arg` overrides and, when given,
    /// the automatic platform ARGs), then FROM expanded with them. Call this first to know
    /// which image to resolve; ``evaluate(context:baseConfig:buildArgs:platforms:)`` repeats it.
    /// - Throws: ``DockerfileError`` for bad ARGs, a missing FROM, or a multi-stage build.
    public func base(buildArgs: [String: String] = [:], platforms: DockerfilePlatforms? = nil) throws -> DockerfileBase {
        var evaluation = Evaluation(dockerfile: self, buildArgs: buildArgs, platforms: platforms)
        return try evaluation.readBase()
    }

    /// Evaluates every instruction against the build context and the base's config.
    ///
    /// - Parameters:
    ///   - context: the build context (`.dockerignore` already read into it).
    ///   - baseConfig: the resolved base's `Env`, `WorkingDir`, `Shell`, `OnBuild` and `os`.
    ///   - buildArgs: `--build-arg KEY=VALUE`; those no ARG declares give a warning, not an error.
    ///   - platforms: the target and build platforms for the automatic ARGs, when known.
    /// - Returns: overlays for the one layer and the config edits, plus warnings.
    /// - Throws: ``DockerfileError``, one line naming the file, the line and the instruction:
    ///   RUN, `ADD <url>`, `COPY --from`, a second FROM and base ONBUILD triggers are refused
    ///   ("such steps belong in a prebuilt base image"), as are malformed instructions and
    ///   sources missing from (or leaving) the context.
    public func evaluate(context: BuildContext, baseConfig: DockerfileBaseConfig = DockerfileBaseConfig(), buildArgs: [String: String] = [:],
                         platforms: DockerfilePlatforms? = nil) throws -> DockerfileRecipe {
        var evaluation = Evaluation(dockerfile: self, buildArgs: buildArgs, platforms: platforms)
        return try evaluation.run(context: context, baseConfig: baseConfig)
    }

    /// Refuses a base whose config has ONBUILD triggers: Docker would run them first, kiln
    /// runs nothing. `line` is FROM's.
    public func refuseTriggers(_ onBuild: [String], line: Int) throws {
        guard let first = onBuild.first else { return }
        let more = onBuild.count > 1 ? " and \(onBuild.count - 1) more" : ""
        throw DockerfileError(file: path, line: line, instruction: "FROM",
                              message: "the base image has ONBUILD triggers ('\(excerpt(first))'\(more)) that Docker would run here; \(DockerfileError.prebuiltBase)")
    }
}

extension Dockerfile {
    /// Whether `# check=skip=` silences a BuildKit lint warning (`RULE: message`).
    func skips(_ warning: String) -> Bool {
        skippedChecks.contains("all") || skippedChecks.contains(String(warning.prefix(while: { $0 != ":" })))
    }
}

/// A bounded, printable excerpt of untrusted text for a message.
private func excerpt(_ text: String) -> String { UntrustedText.excerpt(text) }

/// Build args Docker knows without an ARG (the proxy variables): never "not consumed".
private let predefinedArguments: Set<String> = ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"]

/// One run of the evaluator: the state BuildKit's dispatcher keeps for a single stage.
private struct Evaluation {
    let dockerfile: Dockerfile
    let buildArgs: [String: String]
    let platforms: DockerfilePlatforms?

    /// ARGs before FROM (and the automatic platform ones): FROM and a bare in-stage ARG see them.
    var globals: [String: String] = [:]
    /// What `$NAME` means inside the stage: the base's Env, then ARGs and ENVs in order.
    var variables: [String: String] = [:]
    var declared: Set<String> = []
    var warnings: [DockerfileWarning] = []
    var edits = ConfigEdits()
    var copies: [DockerfileCopy] = []
    /// Where each key sits in `edits.env` / `edits.labels`, and what `edits.exposedPorts` and
    /// `edits.volumes` hold: membership in constant time, so 20,000 ENV lines or
    /// `EXPOSE 0-65535` stay linear while the edits keep the Dockerfile's order.
    var envIndex: [String: Int] = [:]
    var labelIndex: [String: Int] = [:]
    var exposed: Set<String> = []
    var volumes: Set<String> = []
    var workingDir = "/"
    /// The USER in effect (the base's `User`, then each USER): WORKDIR's directories are its.
    var user = ""
    var shell: [String] = []
    var cmdSet = false
    var base: DockerfileBase?
    var fromIndex = 0

    init(dockerfile: Dockerfile, buildArgs: [String: String], platforms: DockerfilePlatforms?) {
        self.dockerfile = dockerfile
        self.buildArgs = buildArgs
        self.platforms = platforms
        for (key, value) in platforms?.arguments ?? [] { globals[key] = value }
    }

    private func fail(_ instruction: DockerfileInstruction, _ message: String) -> DockerfileError {
        DockerfileError(file: dockerfile.path, line: instruction.line, instruction: instruction.keyword, message: message)
    }

    private func refuse(_ instruction: DockerfileInstruction, _ what: String) -> DockerfileError {
        fail(instruction, "\(what) is not supported: \(DockerfileError.prebuiltBase)")
    }

    private mutating func warn(_ line: Int, _ message: String) {
        let warning = DockerfileWarning(file: dockerfile.path, line: line, message: message)
        if !warnings.contains(warning) { warnings.append(warning) }
    }

    // MARK: Expansion

    /// `ProcessWord` against `scope`, warning about unset names.
    private mutating func word(_ text: String, _ instruction: DockerfileInstruction, scope: [String: String]) throws -> String {
        var lexer = ShellWord(escape: dockerfile.escape) { scope[$0] }
        do {
            let result = try lexer.word(text)
            noteUnset(lexer.unset, instruction)
            return result
        } catch {
            throw fail(instruction, "'\(excerpt(text))': \(error.message)")
        }
    }

    private mutating func words(_ text: String, _ instruction: DockerfileInstruction) throws -> [String] {
        let scope = variables
        var lexer = ShellWord(escape: dockerfile.escape) { scope[$0] }
        do {
            let result = try lexer.words(text)
            noteUnset(lexer.unset, instruction)
            return result
        } catch {
            throw fail(instruction, "'\(excerpt(text))': \(error.message)")
        }
    }

    private mutating func noteUnset(_ names: [String], _ instruction: DockerfileInstruction) {
        for name in names where !name.isEmpty && name.unicodeScalars.first.map({ !"@*#?-$!0123456789".unicodeScalars.contains($0) }) ?? false {
            warn(instruction.line, "\(instruction.keyword): variable '\(excerpt(name))' is not set (it expands to nothing)")
        }
    }

    private mutating func expand(_ text: String, _ instruction: DockerfileInstruction) throws -> String {
        try word(text, instruction, scope: variables)
    }

    // MARK: Flags

    private enum FlagKind { case bool, string, strings }

    /// BuildKit's `BFlags`: `--name=value` or `--name` for booleans; unknown and repeated flags
    /// are errors.
    private func flags(_ instruction: DockerfileInstruction, _ allowed: [String: FlagKind]) throws -> [String: [String]] {
        var values: [String: [String]] = [:]
        for flag in instruction.flags {
            guard flag.hasPrefix("--") else { throw fail(instruction, "arg should start with -- : \(excerpt(flag))") }
            let body = flag.dropFirst(2)
            let name = String(body.prefix(while: { $0 != "=" }))
            let value: String? = body.contains("=") ? String(body.drop(while: { $0 != "=" }).dropFirst()) : nil
            guard let kind = allowed[name] else { throw fail(instruction, "unknown flag: --\(excerpt(name))") }
            if kind != .strings, values[name] != nil { throw fail(instruction, "duplicate flag specified: --\(name)") }
            switch kind {
            case .bool:
                switch value?.lowercased() {
                case nil, "true"?: values[name] = ["true"]
                case "false"?: values[name] = ["false"]
                default: throw fail(instruction, "expecting boolean value for flag --\(name), not: \(excerpt(value ?? ""))")
                }
            case .string, .strings:
                guard let value else { throw fail(instruction, "missing a value on flag: --\(name)") }
                values[name, default: []].append(value)
            }
        }
        return values
    }

    private func noFlags(_ instruction: DockerfileInstruction) throws { _ = try flags(instruction, [:]) }

    private func exactlyOne(_ instruction: DockerfileInstruction) throws -> String {
        guard instruction.arguments.count == 1 else { throw fail(instruction, "\(instruction.keyword) requires exactly one argument") }
        return instruction.arguments[0]
    }

    // MARK: Base

    mutating func readBase() throws -> DockerfileBase {
        for (index, instruction) in dockerfile.instructions.enumerated() {
            switch instruction.keyword {
            case "ARG":
                try noFlags(instruction)
                try declare(instruction, global: true)
            case "FROM":
                fromIndex = index
                return try from(instruction)
            default:
                throw fail(instruction, "no FROM before it (only ARG may come before FROM)")
            }
        }
        throw DockerfileError(file: dockerfile.path, line: 0, message: "has no FROM instruction")
    }

    private mutating func from(_ instruction: DockerfileInstruction) throws -> DockerfileBase {
        let values = try flags(instruction, ["platform": .string])
        let arguments = instruction.arguments
        guard arguments.count == 1 || (arguments.count == 3 && arguments[1].lowercased() == "as") else {
            throw fail(instruction, "FROM requires either one or three arguments")
        }
        let image = try word(arguments[0], instruction, scope: globals)
        guard !image.isEmpty else { throw fail(instruction, "base name (\(excerpt(arguments[0]))) should not be blank") }
        var platform: String?
        if let text = values["platform"]?.first {
            platform = try word(text, instruction, scope: globals)
        }
        return DockerfileBase(image: image, platform: platform, line: instruction.line)
    }

    /// ARG before FROM (`global`) or inside the stage, as BuildKit's `buildMetaArgs` and
    /// `dispatchArg`: `--build-arg` wins, then the default (expanded), then, in the stage, the
    /// global value of a bare `ARG NAME`.
    private mutating func declare(_ instruction: DockerfileInstruction, global: Bool) throws {
        guard !instruction.arguments.isEmpty else { throw fail(instruction, "ARG requires at least one argument") }
        for argument in instruction.arguments {
            var key = argument
            var value: String?
            if let equals = argument.firstIndex(of: "=") {
                key = String(argument[..<equals])
                value = String(argument[argument.index(after: equals)...])
            }
            guard !key.isEmpty else { throw fail(instruction, "ARG names can not be blank") }
            declared.insert(key)
            if let given = buildArgs[key] {
                value = given
            } else if let text = value {
                value = try word(text, instruction, scope: global ? globals : variables)
            } else if !global {
                value = globals[key]
            }
            guard let value else { continue }
            if global { globals[key] = value } else { variables[key] = value }
        }
    }

    // MARK: The stage

    mutating func run(context: BuildContext, baseConfig: DockerfileBaseConfig) throws -> DockerfileRecipe {
        let base = try readBase()
        try dockerfile.refuseTriggers(baseConfig.onBuild, line: base.line)
        for entry in baseConfig.env {
            let key = String(entry.prefix(while: { $0 != "=" }))
            variables[key] = entry.contains("=") ? String(entry.drop(while: { $0 != "=" }).dropFirst()) : ""
        }
        workingDir = baseConfig.workingDir.isEmpty ? "/" : baseConfig.workingDir
        user = baseConfig.user
        shell = baseConfig.shell.isEmpty ? baseConfig.defaultShell : baseConfig.shell
        for instruction in dockerfile.instructions.dropFirst(fromIndex + 1) {
            try dispatch(instruction, context: context)
        }
        let unused = buildArgs.keys.filter { !declared.contains($0) && !predefinedArguments.contains($0) }.sorted()
        if !unused.isEmpty {
            warn(0, "build-args not consumed by any ARG: \(excerpt(unused.joined(separator: ", ")))")
        }
        return DockerfileRecipe(path: dockerfile.path, contextRoot: context.root, base: base, copies: copies, edits: edits, warnings: dockerfile.warnings + warnings)
    }

    private mutating func dispatch(_ instruction: DockerfileInstruction, context: BuildContext) throws {
        switch instruction.keyword {
        case "FROM":
            throw refuse(instruction, "a second FROM (a multi-stage build)")
        case "RUN":
            throw refuse(instruction, "RUN")
        case "ARG":
            try noFlags(instruction)
            try declare(instruction, global: false)
        case "ENV":
            try noFlags(instruction)
            guard !instruction.pairs.isEmpty else { throw fail(instruction, "ENV requires at least one argument") }
            // Every pair sees the variables as they were before this ENV (`ENV a=1 b=$a`).
            var expanded: [(String, String)] = []
            for pair in instruction.pairs {
                let key = try expand(pair.key, instruction)
                guard !key.isEmpty else { throw fail(instruction, "ENV names can not be blank") }
                expanded.append((key, try expand(pair.value, instruction)))
            }
            for (key, value) in expanded {
                variables[key] = value
                Self.set(key, to: value, in: &edits.env, index: &envIndex)
            }
        case "LABEL":
            try noFlags(instruction)
            guard !instruction.pairs.isEmpty else { throw fail(instruction, "LABEL requires at least one argument") }
            for pair in instruction.pairs {
                let key = try expand(pair.key, instruction)
                guard !key.isEmpty else { throw fail(instruction, "LABEL names can not be blank") }
                Self.set(key, to: try expand(pair.value, instruction), in: &edits.labels, index: &labelIndex)
            }
        case "MAINTAINER":
            try noFlags(instruction)
            edits.author = try exactlyOne(instruction)
        case "USER":
            try noFlags(instruction)
            edits.user = try expand(try exactlyOne(instruction), instruction)
            user = edits.user ?? ""
        case "WORKDIR":
            try noFlags(instruction)
            workingDir = Self.normalize(try expand(try exactlyOne(instruction), instruction), relativeTo: workingDir, keepSlash: false)
            edits.workingDir = workingDir
            // BuildKit's dispatchWorkdir: the directory is made in the image (with parents,
            // 0755, owned by the USER in effect), which is a layer even when it exists; `/` is not.
            if workingDir != "/" { copies.append(try workdir(instruction)) }
        case "CMD":
            try noFlags(instruction)
            // Docker's config omits an empty list (`omitempty`): `CMD []` removes Cmd.
            let cmd = commandLine(instruction, emptyIsNil: false) ?? []
            edits.cmd = cmd.isEmpty ? nil : cmd
            edits.clearsCmd = cmd.isEmpty
            edits.argsEscaped = true
            cmdSet = true
        case "ENTRYPOINT":
            try noFlags(instruction)
            let entrypoint = commandLine(instruction, emptyIsNil: true) ?? []
            edits.entrypoint = entrypoint.isEmpty ? nil : entrypoint
            edits.clearsEntrypoint = entrypoint.isEmpty
            // ENTRYPOINT resets the base's CMD unless this Dockerfile sets one.
            if !cmdSet { edits.clearsCmd = true }
        case "SHELL":
            try noFlags(instruction)
            guard !instruction.arguments.isEmpty else { throw fail(instruction, "SHELL requires at least one argument") }
            guard instruction.isJSON else { throw fail(instruction, "SHELL requires the arguments to be in JSON form") }
            shell = instruction.arguments
            edits.shell = instruction.arguments
        case "HEALTHCHECK":
            edits.healthcheck = try healthcheck(instruction)
        case "EXPOSE":
            try noFlags(instruction)
            guard !instruction.arguments.isEmpty else { throw fail(instruction, "EXPOSE requires at least one argument") }
            for argument in instruction.arguments {
                for port in try words(argument, instruction) {
                    let parsed = try Self.ports(port, fail: { fail(instruction, $0) })
                    for warning in parsed.warnings where !dockerfile.skips(warning) { warn(instruction.line, warning) }
                    for spec in parsed.ports where exposed.insert(spec).inserted {
                        edits.exposedPorts.append(spec)
                    }
                }
            }
        case "VOLUME":
            try noFlags(instruction)
            guard !instruction.arguments.isEmpty else { throw fail(instruction, "VOLUME requires at least one argument") }
            for argument in instruction.arguments {
                let volume = try expand(argument, instruction).trimmingWhitespace
                guard !volume.isEmpty else { throw fail(instruction, "VOLUME specified can not be an empty string") }
                if volumes.insert(volume).inserted { edits.volumes.append(volume) }
            }
        case "STOPSIGNAL":
            try noFlags(instruction)
            let signal = try expand(try exactlyOne(instruction), instruction)
            guard Self.isSignal(signal) else { throw fail(instruction, "invalid signal: \(excerpt(signal))") }
            edits.stopSignal = signal
        case "ONBUILD":
            try noFlags(instruction)
            // The parser refused ONBUILD ONBUILD, ONBUILD FROM and ONBUILD MAINTAINER.
            guard !instruction.trigger.isEmpty else { throw fail(instruction, "ONBUILD requires at least one argument") }
            guard instruction.heredocs.isEmpty else { throw fail(instruction, "here-documents (<<) are not supported") }
            let text = instruction.original.trimmingLeadingWhitespace
            edits.onBuild.append(String(text.dropFirst("ONBUILD".count)).trimmingLeadingWhitespace)
        case "COPY", "ADD":
            copies.append(try copy(instruction, context: context))
        default:
            throw fail(instruction, "unknown instruction")
        }
    }

    /// WORKDIR's directory, owned by the USER in effect: a name alone takes its passwd line's
    /// group, as for `--chown` (looked up in the base when the layer is placed).
    private func workdir(_ instruction: DockerfileInstruction) throws -> DockerfileCopy {
        let path: ImagePath
        do { path = try ImagePath(absolute: workingDir) } catch { throw fail(instruction, "'\(excerpt(workingDir))': \(error)") }
        var owner: OwnerSpec?
        if !user.isEmpty {
            do { owner = try OwnerSpec(parsing: user) } catch {
                throw fail(instruction, "the directory would belong to the USER in effect, '\(excerpt(user))', which is not USER[:GROUP] of numbers or names")
            }
        }
        return DockerfileCopy(instruction: "WORKDIR", line: instruction.line, items: [.overlay(.directory(path, owner: owner))])
    }

    /// CMD and ENTRYPOINT: exec form as written; shell form wrapped in the current shell.
    private func commandLine(_ instruction: DockerfileInstruction, emptyIsNil: Bool) -> [String]? {
        if instruction.isJSON { return emptyIsNil && instruction.arguments.isEmpty ? nil : instruction.arguments }
        return shell + [instruction.arguments.joined(separator: " ")]
    }

    /// HEALTHCHECK NONE, or CMD in exec form (`CMD`) or shell form (`CMD-SHELL`), with the
    /// durations in nanoseconds.
    private func healthcheck(_ instruction: DockerfileInstruction) throws -> ConfigEdits.Healthcheck {
        guard let type = instruction.arguments.first?.uppercased() else { throw fail(instruction, "HEALTHCHECK requires at least one argument") }
        let command = Array(instruction.arguments.dropFirst())
        if type == "NONE" {
            guard command.isEmpty else { throw fail(instruction, "HEALTHCHECK NONE takes no arguments") }
            return .init(test: ["NONE"])
        }
        let values = try flags(instruction, ["interval": .string, "timeout": .string, "start-period": .string, "start-interval": .string, "retries": .string])
        guard type == "CMD" else { throw fail(instruction, "unknown type \"\(excerpt(type))\" in HEALTHCHECK (try CMD)") }
        let line = instruction.isJSON ? command : (command.isEmpty ? [] : [command.joined(separator: " ")])
        guard !line.isEmpty else { throw fail(instruction, "missing command after HEALTHCHECK CMD") }
        func duration(_ name: String) throws -> Int64 {
            guard let text = values[name]?.first, !text.isEmpty else { return 0 }
            guard let nanoseconds = GoDuration.parse(text) else { throw fail(instruction, "--\(name): invalid duration \"\(excerpt(text))\"") }
            if nanoseconds != 0, nanoseconds < 1_000_000 { throw fail(instruction, "interval \"\(name)\" cannot be less than 1ms") }
            return nanoseconds
        }
        var retries = 0
        if let text = values["retries"]?.first {
            guard let value = Int32(text) else { throw fail(instruction, "--retries: invalid number \"\(excerpt(text))\"") }
            guard value >= 0 else { throw fail(instruction, "--retries cannot be negative (\(value))") }
            retries = Int(value)
        }
        return .init(test: [instruction.isJSON ? "CMD" : "CMD-SHELL"] + line, interval: try duration("interval"), timeout: try duration("timeout"),
                     startPeriod: try duration("start-period"), startInterval: try duration("start-interval"), retries: retries)
    }

    // MARK: COPY and ADD

    private mutating func copy(_ instruction: DockerfileInstruction, context: BuildContext) throws -> DockerfileCopy {
        let isAdd = instruction.keyword == "ADD"
        let allowed: [String: FlagKind] = isAdd
            ? ["chown": .string, "chmod": .string, "link": .bool, "keep-git-dir": .bool, "checksum": .string, "unpack": .bool, "exclude": .strings]
            : ["chown": .string, "chmod": .string, "link": .bool, "from": .string, "parents": .bool, "exclude": .strings]
        let values = try flags(instruction, allowed)
        if values["from"] != nil { throw refuse(instruction, "COPY --from (copying from another stage or image)") }
        if values["parents"]?.first == "true" { throw fail(instruction, "--parents is not supported") }
        if values["keep-git-dir"] != nil { throw refuse(instruction, "ADD of a git repository") }
        guard instruction.arguments.count >= 2 else {
            throw fail(instruction, "\(instruction.keyword) requires at least two arguments, but only one was provided. Destination could not be determined")
        }
        let heredocWord = instruction.arguments.contains { $0.drop(while: { $0.isASCII && $0.isNumber }).hasPrefix("<<") }
        if !instruction.heredocs.isEmpty || (heredocWord && !instruction.isJSON) {
            throw fail(instruction, "here-documents (<<EOF) are not supported: put the file in the build context and \(instruction.keyword) it")
        }
        var sources: [String] = []
        for argument in instruction.arguments.dropLast() {
            let source = try expand(argument, instruction)
            if Self.isRemote(source) {
                throw refuse(instruction, isAdd ? "ADD of a URL or git repository ('\(excerpt(source))')" : "a URL source ('\(excerpt(source))')")
            }
            sources.append(source)
        }
        if values["checksum"] != nil { throw fail(instruction, "--checksum requires HTTP(S) or git sources") }
        let destinationText = Self.destination(try expand(instruction.arguments.last!, instruction), workingDir: workingDir)
        let intoDirectory = destinationText.hasSuffix("/") || destinationText.hasSuffix("/.")
        let destination: ImagePath
        do { destination = try ImagePath(absolute: destinationText) } catch { throw fail(instruction, "destination '\(excerpt(destinationText))': \(error)") }
        var owner: OwnerSpec?
        if let text = values["chown"]?.first {
            let expanded = try expand(text, instruction)
            do { owner = try OwnerSpec(parsing: expanded) } catch { throw fail(instruction, "--chown=\(excerpt(expanded)): \(error)") }
        }
        var mode: UInt32?
        if let text = values["chmod"]?.first {
            let expanded = try expand(text, instruction)
            do { mode = try parseMode(expanded) } catch {
                throw fail(instruction, "--chmod=\(excerpt(expanded)): only octal modes between 0 and 07777 are supported")
            }
        }
        let excludes: DockerIgnore
        do { excludes = try DockerIgnore(patterns: values["exclude"] ?? []) } catch { throw fail(instruction, "--exclude: \((error as? DockerfileError)?.message ?? "invalid pattern")") }
        let unpack = isAdd && values["unpack"]?.first != "false"

        var found: [BuildContext.Source] = []
        for source in sources {
            let relative = BuildContext.relative(source)
            do {
                let names = BuildContext.hasWildcards(relative) ? try context.matches(relative) : [relative]
                if names.isEmpty { warn(instruction.line, "\(instruction.keyword): '\(excerpt(source))' matches nothing in the build context") }
                for name in names { found.append(try context.source(name)) }
            } catch {
                throw fail(instruction, Self.describe(error, source: source))
            }
        }
        if found.count > 1, !intoDirectory {
            throw fail(instruction, "several sources need a destination directory ending in '/' (got '\(excerpt(instruction.arguments.last!))')")
        }
        var step = DockerfileCopy(instruction: instruction.keyword, line: instruction.line, items: [])
        for source in found {
            if unpack, !source.isDirectory, let format = context.archiveFormat(source) {
                step.items.append(.archive(DockerfileArchive(source: source.path, format: format, destination: destination, owner: owner, mode: mode, line: instruction.line)))
                continue
            }
            var excluding: Set<String> = []
            if source.isDirectory {
                do { excluding = try context.exclusions(of: source, excluding: excludes) } catch { throw fail(instruction, Self.describe(error, source: source.relative)) }
            } else if excludes.excludes(source.relative.split(separator: "/").last.map(String.init) ?? source.relative) {
                continue
            }
            step.items.append(.overlay(Overlay(source: source.path, destination: destination, owner: owner, mode: mode, intoDirectory: intoDirectory, excluding: excluding,
                                               keepsAnyLink: true)))
        }
        return step
    }

    private static func describe(_ error: Error, source: String) -> String {
        switch error as? BuildContext.Failure {
        case .notFound(let path)?: return "'\(excerpt(path))' is not in the build context"
        case .excluded(let path)?: return "'\(excerpt(path))' is excluded by .dockerignore"
        case .unsupported(let path, let kind)?: return "'\(excerpt(path))' is a \(kind); only files, directories and symlinks can be copied"
        case .badPattern(let path)?: return "'\(excerpt(path))' is not a valid wildcard pattern"
        case .unreadable(let path)?: return "cannot read '\(excerpt(path))' in the build context"
        case .notUTF8(let path)?: return "'\(excerpt(path))' has a name that is not valid UTF-8 (shown with U+FFFD); kiln copies only UTF-8 names: rename it"
        case .patternTooDeep(let path)?: return "'\(excerpt(path))' has more than \(BuildContext.maximumPatternComponents) path components"
        case nil: return "'\(excerpt(source))': \(error)"
        }
    }

    /// URLs and git remotes (ADD fetches them; kiln does not).
    private static func isRemote(_ source: String) -> Bool {
        let lower = source.lowercased()
        return lower.contains("://") || lower.hasPrefix("git@")
    }

    /// ENV and LABEL: `key` set to `value`, replacing an earlier one in place (the first
    /// setting's position is kept), else appended; `index` says where each key sits.
    static func set(_ key: String, to value: String, in pairs: inout [(key: String, value: String)], index: inout [String: Int]) {
        if let position = index[key] {
            pairs[position].value = value
        } else {
            index[key] = pairs.count
            pairs.append((key, value))
        }
    }

    /// BuildKit's `pathRelativeToWorkingDir`: relative to WORKDIR, cleaned, a trailing `/` (or
    /// `/.`) kept because it means "into this directory".
    static func destination(_ text: String, workingDir: String) -> String {
        normalize(text.isEmpty || text == "." ? "./" : text, relativeTo: workingDir, keepSlash: true)
    }

    /// BuildKit's `system.NormalizePath` for Linux.
    static func normalize(_ path: String, relativeTo parent: String, keepSlash: Bool) -> String {
        let base = cleanPath("/" + (parent.isEmpty ? "/" : parent))
        var result = path.isEmpty ? base : (path.hasPrefix("/") ? cleanPath(path) : cleanPath(base + "/" + path))
        if keepSlash {
            if path.hasSuffix("/"), !result.hasSuffix("/") {
                result += "/"
            } else if path.hasSuffix("/.") {
                if result != "/" { result += "/" }
                result += "."
            }
        }
        return result
    }

    // MARK: EXPOSE and STOPSIGNAL

    /// What one EXPOSE word gives: `N/proto` entries (a range gives one per port) and the
    /// BuildKit lint warnings it earns.
    struct ExposedPorts: Equatable {
        var ports: [String]
        var warnings: [String]
    }

    /// BuildKit's `parsePort` (`dockerfile2llb/convert_expose.go`): `[IP:][HOSTPORT:]PORT[-PORT][/PROTO]`.
    /// The container port is exposed; an address or host port (`0.0.0.0:80:80`,
    /// `[::1]:80:80`, `1234-1235:1234-1235/udp`) is checked and dropped with BuildKit's
    /// `ExposeInvalidFormat` warning, a protocol not in lower case gets `ExposeProtoCasing`.
    static func ports(_ text: String, fail: (String) -> DockerfileError) throws -> ExposedPorts {
        func invalid(_ reason: String) -> DockerfileError { fail("invalid port '\(excerpt(text))': \(reason)") }
        // splitParts: the last field is the container port, the one before it the host port,
        // everything before those (joined again: an IPv6 address has colons) the address.
        let fields = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        var address = ""
        var hostPort = ""
        let containerField = fields[fields.count - 1]
        if fields.count >= 2 { hostPort = fields[fields.count - 2] }
        if fields.count >= 3 { address = fields[..<(fields.count - 2)].joined(separator: ":") }
        // splitProtoPort
        let protoParts = containerField.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let containerPort = protoParts[0]
        guard !containerPort.isEmpty else { throw invalid("no port specified") }
        let proto = protoParts.count == 2 ? protoParts[1] : ""
        guard ["", "tcp", "udp", "sctp"].contains(proto.lowercased()) else { throw invalid("invalid proto: \(excerpt(proto))") }
        var warnings: [String] = []
        if proto != proto.lowercased() {
            warnings.append("ExposeProtoCasing: Defined protocol '\(excerpt(text))' in EXPOSE instruction should be lowercase")
        }
        if !address.isEmpty || !hostPort.isEmpty {
            warnings.append("ExposeInvalidFormat: EXPOSE instruction should not define an IP address or host-port mapping, found '\(excerpt(text))'")
        }
        if address.hasPrefix("[") {
            // net.SplitHostPort(address + ":"): `[` HOST `]`, nothing after the bracket.
            guard address.hasSuffix("]"), address.count >= 2 else { throw invalid("invalid IP address \(excerpt(address))") }
            let inner = String(address.dropFirst().dropLast())
            guard !inner.contains("["), !inner.contains("]") else { throw invalid("invalid IP address \(excerpt(address))") }
            address = inner
        }
        if !address.isEmpty, !IPAddressText.isValid(address) { throw invalid("invalid IP address: \(excerpt(address))") }
        guard let (start, end) = portRange(containerPort) else { throw invalid("invalid containerPort: \(excerpt(containerPort))") }
        if !hostPort.isEmpty {
            guard let (hostStart, hostEnd) = portRange(hostPort) else { throw invalid("invalid hostPort: \(excerpt(hostPort))") }
            // A host range with one container port is the range to allocate from; two ranges
            // must be as long as each other.
            if end - start != hostEnd - hostStart, end != start {
                throw invalid("invalid ranges specified for container and host Ports: \(excerpt(containerPort)) and \(excerpt(hostPort))")
            }
        }
        let name = proto.isEmpty ? "tcp" : proto.lowercased()
        return ExposedPorts(ports: (start...end).map { "\($0)/\(name)" }, warnings: warnings)
    }

    /// `parsePortRange`: `N` or `N-M` with `M >= N`; `N-N` is `N`.
    private static func portRange(_ text: String) -> (Int, Int)? {
        guard !text.isEmpty else { return nil }
        let parts = text.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard let start = portNumber(parts[0]) else { return nil }
        guard parts.count == 2, parts[1] != parts[0] else { return (start, start) }
        guard let end = portNumber(parts[1]), end >= start else { return nil }
        return (start, end)
    }

    /// `parsePortNumber`: Go's `strconv.ParseInt(s, 10, 0)` (an optional sign, then ASCII
    /// digits only), within 0-65535.
    private static func portNumber(_ text: String) -> Int? {
        var digits = Substring(text)
        var negative = false
        if let sign = digits.first, sign == "+" || sign == "-" {
            negative = sign == "-"
            digits = digits.dropFirst()
        }
        guard !digits.isEmpty, digits.utf8.allSatisfy({ (48...57).contains($0) }) else { return nil }
        let significant = digits.drop(while: { $0 == "0" })
        guard significant.count <= 5, let value = Int(significant.isEmpty ? "0" : String(significant)) else { return nil }
        guard !negative || value == 0, value <= 65535 else { return nil }
        return value
    }

    private static let signals: Set<String> = [
        "ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO", "IOT", "KILL", "PIPE", "POLL", "PROF", "PWR", "QUIT",
        "SEGV", "STKFLT", "STOP", "SYS", "TERM", "TRAP", "TSTP", "TTIN", "TTOU", "URG", "USR1", "USR2", "VTALRM", "WINCH", "XCPU", "XFSZ",
        "RTMIN", "RTMAX",
    ]

    /// moby's `signal.ParseSignal` on Linux: a nonzero number or a name, `SIG` optional, any case.
    static func isSignal(_ text: String) -> Bool {
        if let number = Int(text) { return number != 0 }
        var name = text.uppercased()
        if name.hasPrefix("SIG") { name = String(name.dropFirst(3)) }
        if signals.contains(name) { return true }
        for (prefix, sign) in [("RTMIN+", 1), ("RTMAX-", -1)] where name.hasPrefix(prefix) {
            if let offset = Int(name.dropFirst(prefix.count)), (1...15).contains(offset) { return sign != 0 }
        }
        return false
    }
}

/// Go's `time.ParseDuration`: `300ms`, `1.5h`, `2h45m`, units ns us µs ms s m h; whole parts in
/// integers, fractions as Go computes them; `nil` on overflow or bad syntax.
enum GoDuration {
    static func parse(_ text: String) -> Int64? {
        var rest = Substring(text)
        var negative = false
        if rest.first == "-" || rest.first == "+" {
            negative = rest.first == "-"
            rest = rest.dropFirst()
        }
        if rest == "0" { return 0 }
        guard !rest.isEmpty else { return nil }
        let units: [(String, Int64)] = [("ns", 1), ("us", 1_000), ("µs", 1_000), ("μs", 1_000), ("ms", 1_000_000), ("s", 1_000_000_000),
                                        ("m", 60_000_000_000), ("h", 3_600_000_000_000)]
        var total: Int64 = 0
        func isDigit(_ character: Character) -> Bool { character.isASCII && character.isNumber }
        while !rest.isEmpty {
            let whole = rest.prefix(while: isDigit)
            rest = rest.dropFirst(whole.count)
            var fraction = Substring("")
            if rest.first == "." {
                rest = rest.dropFirst()
                fraction = rest.prefix(while: isDigit)
                rest = rest.dropFirst(fraction.count)
            }
            guard !whole.isEmpty || !fraction.isEmpty else { return nil }
            let unitText = rest.prefix(while: { !isDigit($0) && $0 != "." })
            guard let unit = units.first(where: { $0.0 == unitText })?.1 else { return nil }
            rest = rest.dropFirst(unitText.count)
            var value: Int64 = 0
            for digit in whole {
                let (times, overflow) = value.multipliedReportingOverflow(by: 10)
                guard !overflow, times <= Int64.max - Int64(digit.wholeNumberValue!) else { return nil }
                value = times + Int64(digit.wholeNumberValue!)
            }
            let (scaled, overflow) = value.multipliedReportingOverflow(by: unit)
            guard !overflow else { return nil }
            // The fraction, as Go does it: digits beyond what fits are dropped, then scaled.
            var numerator: Int64 = 0
            var scale: Int64 = 1
            for digit in fraction where scale <= Int64.max / 10 && numerator <= (Int64.max - 9) / 10 {
                numerator = numerator * 10 + Int64(digit.wholeNumberValue!)
                scale *= 10
            }
            // Go's `float64(f) * (float64(unit) / scale)`, truncated: below one unit, so it fits.
            let fractional = numerator == 0 ? 0 : Int64((Double(numerator) * (Double(unit) / Double(scale))).rounded(.towardZero))
            let (sum, overflowSum) = total.addingReportingOverflow(scaled)
            guard !overflowSum else { return nil }
            let (withFraction, overflowFraction) = sum.addingReportingOverflow(fractional)
            guard !overflowFraction else { return nil }
            total = withFraction
        }
        return negative ? -total : total
    }
}

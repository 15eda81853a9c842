import OCI
import KilnRecipe

/// Pure functions that derive the new config, manifest and index from the base's documents.
///
/// Each takes the base document as a ``JSONValue`` and returns a new one: fields kiln does not
/// model are carried over untouched, in their original order.
public enum Mutate {
    /// The history entry recorded for the new layer.
    public struct History: Sendable, Equatable {
        public var created: String
        public var createdBy: String

        public init(created: String, createdBy: String) {
            self.created = created
            self.createdBy = createdBy
        }
    }

    /// Appends the layer to `rootfs.diff_ids` and `history`, and applies the config edits. A
    /// config-only bake (no layer) appends a history entry marked `empty_layer`, as Docker does
    /// for `ENV` or `CMD`.
    ///
    /// - Parameters:
    ///   - config: the base image config.
    ///   - diffID: the new layer's uncompressed digest; `nil` when the bake adds no layer.
    ///   - history: the new history entry.
    ///   - edits: env, labels, user, working directory, entrypoint, cmd, and what a Dockerfile
    ///     sets (exposed ports, volumes, stop signal, health check, shell, ONBUILD triggers, author).
    ///   - created: a new top-level `created` time, or `nil` to keep the base's.
    ///   - what: names the config in errors.
    /// - Throws: ``BakeError/malformedConfig(what:reason:)`` when the base config is not an object
    ///   or its `rootfs`/`config`/`Env`/`Labels` have the wrong JSON type.
    public static func config(_ config: JSONValue, diffID: Digest?, history: History, edits: ConfigEdits, created: String?, what: String) throws -> JSONValue {
        guard config.isObject else { throw BakeError.malformedConfig(what: what, reason: "not a JSON object") }
        var result = config
        if let created { result["created"] = .string(created) }
        if let author = edits.author { result["author"] = .string(author) }

        var rootfs = result["rootfs"] ?? .object([("type", .string("layers")), ("diff_ids", .array([]))])
        guard rootfs.isObject, case .array(var diffIDs)? = rootfs["diff_ids"] ?? .array([]) else {
            throw BakeError.malformedConfig(what: what, reason: "rootfs.diff_ids is not an array")
        }
        if let diffID {
            diffIDs.append(.string(diffID.description))
            rootfs["diff_ids"] = .array(diffIDs)
            result["rootfs"] = rootfs
        }

        var entry: JSONValue = .object([("created", .string(history.created)), ("created_by", .string(history.createdBy))])
        if diffID == nil { entry["empty_layer"] = .bool(true) }
        switch result["history"] {
        case nil, .null?: result["history"] = .array([entry])
        case .array(let entries)?: result["history"] = .array(entries + [entry])
        default: throw BakeError.malformedConfig(what: what, reason: "history is not an array")
        }

        var section: JSONValue
        switch result["config"] {
        case nil, .null?: section = .object([])
        case let value? where value.isObject: section = value
        default: throw BakeError.malformedConfig(what: what, reason: "config is not an object")
        }
        section = try apply(edits, to: section, what: what)
        if section != .object([]) || result["config"] != nil { result["config"] = section }
        return result
    }

    private static func apply(_ edits: ConfigEdits, to section: JSONValue, what: String) throws -> JSONValue {
        var section = section
        if !edits.env.isEmpty {
            var env: [JSONValue]
            switch section["Env"] {
            case nil, .null?: env = []
            case .array(let values)?: env = values
            default: throw BakeError.malformedConfig(what: what, reason: "config.Env is not an array")
            }
            // Each name's first entry, found once: a Dockerfile may set 20,000 variables.
            var positions: [String: Int] = [:]
            for (index, entry) in env.enumerated() {
                guard let text = entry.stringValue else { continue }
                let name = text.firstIndex(of: "=").map { String(text[..<$0]) } ?? text
                if positions[name] == nil { positions[name] = index }
            }
            for (key, value) in edits.env {
                let line = JSONValue.string("\(key)=\(value)")
                if let index = positions[key] {
                    env[index] = line
                } else {
                    positions[key] = env.count
                    env.append(line)
                }
            }
            section["Env"] = .array(env)
        }
        if !edits.labels.isEmpty {
            var labels: JSONValue
            switch section["Labels"] {
            case nil, .null?: labels = .object([])
            case let value? where value.isObject: labels = value
            default: throw BakeError.malformedConfig(what: what, reason: "config.Labels is not an object")
            }
            // By UTF-8 bytes, as JSONValue's subscript matches keys; the last duplicate wins.
            var members = labels.members ?? []
            var positions: [[UInt8]: Int] = [:]
            for (index, member) in members.enumerated() { positions[Array(member.key.utf8)] = index }
            for (key, value) in edits.labels {
                if let index = positions[Array(key.utf8)] {
                    members[index].value = .string(value)
                } else {
                    positions[Array(key.utf8)] = members.count
                    members.append((key, .string(value)))
                }
            }
            section["Labels"] = .object(members)
        }
        if let user = edits.user { section["User"] = .string(user) }
        if let workingDir = edits.workingDir { section["WorkingDir"] = .string(workingDir) }
        if let entrypoint = edits.entrypoint {
            section["Entrypoint"] = .strings(entrypoint)
        } else if edits.clearsEntrypoint {
            section["Entrypoint"] = nil
        }
        if let cmd = edits.cmd {
            section["Cmd"] = .strings(cmd)
        } else if edits.clearsCmd {
            section["Cmd"] = nil
        }
        if let argsEscaped = edits.argsEscaped { section["ArgsEscaped"] = .bool(argsEscaped) }
        // Docker writes these as sets: a JSON object of empty objects, keys sorted (Go maps).
        if !edits.exposedPorts.isEmpty { section["ExposedPorts"] = try set(section["ExposedPorts"], adding: edits.exposedPorts, name: "ExposedPorts", what: what) }
        if !edits.volumes.isEmpty { section["Volumes"] = try set(section["Volumes"], adding: edits.volumes, name: "Volumes", what: what) }
        if let stopSignal = edits.stopSignal { section["StopSignal"] = .string(stopSignal) }
        if let healthcheck = edits.healthcheck { section["Healthcheck"] = healthcheckJSON(healthcheck) }
        if let shell = edits.shell { section["Shell"] = .strings(shell) }
        if !edits.onBuild.isEmpty {
            switch section["OnBuild"] {
            case nil, .null?: section["OnBuild"] = .strings(edits.onBuild)
            case .array(let values)?: section["OnBuild"] = .array(values + edits.onBuild.map(JSONValue.string))
            default: throw BakeError.malformedConfig(what: what, reason: "config.OnBuild is not an array")
            }
        }
        return section
    }

    /// `{"80/tcp":{}}`: the base's members and the new ones, sorted bytewise as Go writes a map.
    private static func set(_ existing: JSONValue?, adding keys: [String], name: String, what: String) throws -> JSONValue {
        var members: [(key: String, value: JSONValue)]
        switch existing {
        case nil, .null?: members = []
        case let value? where value.isObject: members = value.members ?? []
        default: throw BakeError.malformedConfig(what: what, reason: "config.\(name) is not an object")
        }
        var present = Set(members.map { Array($0.key.utf8) })
        for key in keys where present.insert(Array(key.utf8)).inserted {
            members.append((key, .object([])))
        }
        members.sort { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }
        return .object(members)
    }

    /// Docker's `HealthcheckConfig`: durations in nanoseconds, zero values left out (`omitempty`).
    private static func healthcheckJSON(_ check: ConfigEdits.Healthcheck) -> JSONValue {
        var members: [(key: String, value: JSONValue)] = []
        if !check.test.isEmpty { members.append(("Test", .strings(check.test))) }
        if check.interval != 0 { members.append(("Interval", .integer(check.interval))) }
        if check.timeout != 0 { members.append(("Timeout", .integer(check.timeout))) }
        if check.startPeriod != 0 { members.append(("StartPeriod", .integer(check.startPeriod))) }
        if check.startInterval != 0 { members.append(("StartInterval", .integer(check.startInterval))) }
        if check.retries != 0 { members.append(("Retries", .integer(check.retries))) }
        return .object(members)
    }

    /// Points the manifest at the new config, appends the new layer and merges annotations.
    ///
    /// Docker schema 2 manifests have no `annotations` field, so annotations are added to OCI
    /// manifests only.
    public static func manifest(_ manifest: ImageManifest, config: Descriptor, layer: Descriptor?, annotations: [(String, String)]) -> JSONValue {
        var result = manifest.json
        result["config"] = descriptorJSON(config, keepingFrom: manifest.json["config"])
        if let layer { result["layers"] = .array((manifest.json["layers"]?.arrayValue ?? []) + [descriptorJSON(layer)]) }
        if manifest.flavour == .oci { result = annotate(result, annotations) }
        return result
    }

    /// Replaces the index's entries by the derived images, keeping each entry's platform and
    /// annotations, and merges annotations (OCI indexes only).
    public static func index(_ index: ImageIndex, children: [(base: Descriptor, derived: Descriptor)], annotations: [(String, String)]) -> JSONValue {
        var result = index.json
        let baseEntries = index.json["manifests"]?.arrayValue ?? []
        let entries: [JSONValue] = children.map { child in
            let original = baseEntries.first { $0["digest"]?.stringValue == child.base.digest.description }
            return descriptorJSON(child.derived, keepingFrom: original)
        }
        result["manifests"] = .array(entries)
        if index.flavour == .oci { result = annotate(result, annotations) }
        return result
    }

    /// A descriptor as JSON; when `original` is given, its other fields (platform, annotations,
    /// urls…) are kept and only mediaType, digest and size are replaced.
    static func descriptorJSON(_ descriptor: Descriptor, keepingFrom original: JSONValue? = nil) -> JSONValue {
        var result: JSONValue = original.flatMap { $0.isObject ? $0 : nil } ?? .object([])
        result["mediaType"] = .string(descriptor.mediaType)
        result["digest"] = .string(descriptor.digest.description)
        result["size"] = .integer(descriptor.size)
        return result
    }

    private static func annotate(_ document: JSONValue, _ annotations: [(String, String)]) -> JSONValue {
        guard !annotations.isEmpty else { return document }
        var result = document
        var merged: JSONValue = result["annotations"].flatMap { $0.isObject ? $0 : nil } ?? .object([])
        for (key, value) in annotations { merged[key] = .string(value) }
        result["annotations"] = merged
        return result
    }
}

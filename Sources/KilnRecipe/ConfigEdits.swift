import OCI

/// Changes to the image config's `config` section, applied on top of the base's values.
public struct ConfigEdits: Sendable, Equatable {
    /// A container health check, as Docker writes it into `config.Healthcheck`.
    public struct Healthcheck: Sendable, Equatable {
        /// `["NONE"]`, `["CMD", args...]` or `["CMD-SHELL", command]`.
        public var test: [String]
        /// Nanoseconds; 0 means "inherit" and is left out, as Docker's `omitempty` does.
        public var interval: Int64
        public var timeout: Int64
        public var startPeriod: Int64
        public var startInterval: Int64
        public var retries: Int

        public init(test: [String], interval: Int64 = 0, timeout: Int64 = 0, startPeriod: Int64 = 0, startInterval: Int64 = 0, retries: Int = 0) {
            self.test = test
            self.interval = interval
            self.timeout = timeout
            self.startPeriod = startPeriod
            self.startInterval = startInterval
            self.retries = retries
        }
    }

    /// Environment variables to set; an existing variable with the same name is replaced in place.
    public var env: [(key: String, value: String)] = []
    /// Labels to set; an existing label with the same key is replaced.
    public var labels: [(key: String, value: String)] = []
    public var user: String?
    public var workingDir: String?
    public var entrypoint: [String]?
    public var cmd: [String]?
    /// Removes the base's `Cmd` (Docker does so when a Dockerfile sets ENTRYPOINT and no CMD);
    /// ignored when ``cmd`` is set.
    public var clearsCmd = false
    /// Removes the base's `Entrypoint` (`ENTRYPOINT []`: Docker writes no empty list);
    /// ignored when ``entrypoint`` is set.
    public var clearsEntrypoint = false
    /// Ports added to `ExposedPorts`, written `PORT/PROTO` (`80/tcp`).
    public var exposedPorts: [String] = []
    /// Paths added to `Volumes`.
    public var volumes: [String] = []
    public var stopSignal: String?
    public var healthcheck: Healthcheck?
    /// The shell for shell-form commands (`SHELL`).
    public var shell: [String]?
    /// Triggers appended to `OnBuild` (a Dockerfile's own `ONBUILD`).
    public var onBuild: [String] = []
    /// `ArgsEscaped`, which Docker sets whenever a Dockerfile has a CMD (Windows-only meaning).
    public var argsEscaped: Bool?
    /// The top-level `author` (`MAINTAINER`), outside the `config` section.
    public var author: String?

    public init() {}

    public static func == (lhs: ConfigEdits, rhs: ConfigEdits) -> Bool {
        lhs.env.elementsEqual(rhs.env, by: ==) && lhs.labels.elementsEqual(rhs.labels, by: ==)
            && lhs.user == rhs.user && lhs.workingDir == rhs.workingDir && lhs.entrypoint == rhs.entrypoint && lhs.cmd == rhs.cmd
            && lhs.clearsCmd == rhs.clearsCmd && lhs.clearsEntrypoint == rhs.clearsEntrypoint && lhs.exposedPorts == rhs.exposedPorts && lhs.volumes == rhs.volumes
            && lhs.stopSignal == rhs.stopSignal && lhs.healthcheck == rhs.healthcheck && lhs.shell == rhs.shell
            && lhs.onBuild == rhs.onBuild && lhs.argsEscaped == rhs.argsEscaped && lhs.author == rhs.author
    }

    /// Parses `KEY=VALUE` as given to `--env` or `--label`.
    public static func parseKeyValue(_ text: String, flag: String) throws -> (key: String, value: String) {
        guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
            throw ConfigEditError.invalidKeyValue(flag: flag, text: text)
        }
        return (String(text[..<equals]), String(text[text.index(after: equals)...]))
    }

    /// Parses a JSON array of strings as given to `--entrypoint` or `--cmd`.
    public static func parseStringArray(_ text: String, flag: String) throws -> [String] {
        guard let value = try? JSONValue(parsing: Array(text.utf8), what: flag), let elements = value.arrayValue else {
            throw ConfigEditError.invalidJSONArray(flag: flag, text: text)
        }
        return try elements.map { element in
            guard let string = element.stringValue else { throw ConfigEditError.invalidJSONArray(flag: flag, text: text) }
            return string
        }
    }
}

/// kiln's version, as `kiln --version` prints it and as registries see it in `User-Agent`.
public let kilnVersion = "0.3.0"

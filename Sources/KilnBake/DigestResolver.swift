import KilnRegistry
import KilnStore
import OCI

/// `kiln digest`: what a reference points at, without downloading layers.
public struct DigestResolver {
    private let transport: TransportOptions

    public init(transport: TransportOptions = TransportOptions()) {
        self.transport = transport
    }

    /// The descriptor (digest, media type, size) of the manifest or index `reference` names.
    public func resolve(_ reference: ImageReference) async throws -> Descriptor {
        switch reference {
        case .layout(let layout):
            return try await OCILayout(layout).resolve()
        case .registry(let registry):
            let registries = try RegistryTransport(options: transport)
            do {
                let descriptor = try await RegistryImage(registry, transport: registries).headDigest()
                await registries.shutdown()
                return descriptor
            } catch {
                await registries.shutdown()
                throw error
            }
        }
    }
}

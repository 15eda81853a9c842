import KilnLayer

/// The new layer's entries for each platform image of the base. Each platform is placed against
/// its own skeleton; platforms whose entries come out the same (the usual case) share one layer.
struct LayerEntries {
    /// The distinct entry lists, in the order of the first image that has each.
    var distinct: [[LayerEntry]]
    /// For each image of the base, in order: the index of its list in ``distinct``.
    var ofImage: [Int]

    /// - Parameter trees: the skeleton of each image of the base, in order.
    init(_ request: BakeRequest, trees: [BaseTree]) throws {
        distinct = []
        ofImage = []
        for (number, tree) in trees.enumerated() {
            // The same skeleton (the usual case) gives the same entries: the overlays are not
            // walked again.
            if let same = trees[..<number].firstIndex(of: tree) {
                ofImage.append(ofImage[same])
                continue
            }
            let entries = try OverlayScanner().scan(overlays: request.overlays, removals: request.removals, base: tree)
            if let index = distinct.firstIndex(of: entries) {
                ofImage.append(index)
            } else {
                distinct.append(entries)
                ofImage.append(distinct.count - 1)
            }
        }
    }
}

/// Runs work items at most `limit` at a time: the one bounded task group of kiln (blob copies,
/// images of a `kiln build`).
package enum BoundedConcurrency {
    /// Calls `body` for every item, at most `limit` at a time, and returns the results in the
    /// items' order. The first error cancels the remaining items and is rethrown.
    package static func map<Item: Sendable, Value: Sendable>(
        _ items: [Item], limit: Int, _ body: @escaping @Sendable (Item) async throws -> Value
    ) async throws -> [Value] {
        precondition(limit >= 1, "a concurrency limit is at least 1")
        // Child results are a named struct, never a tuple: Swift 6.3's optimizer drops a tuple
        // element a `do { return (a, try await f()) } catch { … }` task closure returns
        // (scripts/compiler-faults/task-tuple-result.swift reproduces it).
        return try await withThrowingTaskGroup(of: Indexed<Value>.self) { group in
            var values = [Value?](repeating: nil, count: items.count)
            var running = 0
            for (index, item) in items.enumerated() {
                if running == limit, let done = try await group.next() {
                    values[done.index] = done.value
                    running -= 1
                }
                group.addTask { Indexed(index: index, value: try await body(item)) }
                running += 1
            }
            while let done = try await group.next() { values[done.index] = done.value }
            return values.map { $0! }
        }
    }

    private struct Indexed<Value: Sendable>: Sendable {
        var index: Int
        var value: Value
    }
}

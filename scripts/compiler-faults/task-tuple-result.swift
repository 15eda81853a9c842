// Swift 6.3.1 on Linux x86_64 miscompiles this with -O: the task's value is (0, 7), not (1, 7).
// An async closure whose result is returned indirectly (a Task's or a task group child's value)
// loses the tuple's first element when it returns the tuple from both arms of a do/catch.
// A named struct instead of the tuple, or binding the Result before one return, is compiled
// right. kiln 0.2.0's `kiln build` had this shape in its task group: in release builds it
// printed nothing for one spec and crashed (swift_retain on a garbage String) for several.
//
// Check a toolchain: scripts/compiler-faults/check.sh (exit 0 when the fault is present).
@inline(never) func work() async throws -> Int { 7 }

@main struct Main {
    static func main() async {
        let task = Task { () -> (Int, Result<Int, any Error>) in
            do { return (1, .success(try await work())) }
            catch { return (1, .failure(error)) }
        }
        let value = await task.value
        print(value.0, (try? value.1.get()) ?? -1)
    }
}

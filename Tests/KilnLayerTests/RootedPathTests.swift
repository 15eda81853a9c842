import KilnLayer
import Testing

/// The one link-following walk (``RootedPath``) over a tree in memory: `..` and absolute links
/// stay inside the root, loops end after the kernel's 40 links, a chain of exactly 40 resolves,
/// and each name is looked up once, below its parent's place.
@Suite struct RootedPathTests {
    /// Paths (no leading slash) to link targets; every other name is a plain name. Each place
    /// is the depth of its name, so a test sees that steps start from their parent's place.
    struct Links: LinkedTree {
        var links: [String: String]
        var refused: String?

        struct Refused: Error, Equatable { var path: String }

        var rootPlace: Int { 0 }

        func step(into name: String, of parent: Int, path: [String], isLast: Bool) throws -> (place: Int, linkTarget: String?) {
            let key = path.joined(separator: "/")
            #expect(path.last == name)
            #expect(parent == path.count - 1, "a step starts from its parent's place")
            if key == refused { throw Refused(path: key) }
            return (parent + 1, links[key])
        }
    }

    static func resolve(_ path: String, _ links: [String: String], followingLast: Bool = true) throws -> String {
        "/" + (try RootedPath.resolve(path, in: Links(links: links), followingLast: followingLast)).joined(separator: "/")
    }

    @Test func plainNamesDotsAndEmptyNamesFold() throws {
        #expect(try Self.resolve("a/b/c", [:]) == "/a/b/c")
        #expect(try Self.resolve("/a//./b/", [:]) == "/a/b")
        #expect(try Self.resolve("", [:]) == "/")
        #expect(try Self.resolve("a/b/../c", [:]) == "/a/c")
        #expect(try RootedPath.resolve(components: ["a", ".", "", "b"], in: Links(links: [:])) == ["a", "b"])
    }

    @Test func dotDotStopsAtTheRoot() throws {
        #expect(try Self.resolve("../../etc/passwd", [:]) == "/etc/passwd")
        #expect(try Self.resolve("a/../../../b", [:]) == "/b")
        // Through a link: `..` in its target climbs from the link's directory, and stops at the root.
        #expect(try Self.resolve("a/up/etc/shadow", ["a/up": "../../../.."]) == "/etc/shadow")
        #expect(try Self.resolve("a/b/l", ["a/b/l": "../x"]) == "/a/x")
    }

    @Test func absoluteTargetsRestartAtTheRoot() throws {
        #expect(try Self.resolve("a/b/l/passwd", ["a/b/l": "/etc"]) == "/etc/passwd")
        #expect(try Self.resolve("l", ["l": "/../../etc/passwd"]) == "/etc/passwd")
    }

    @Test func linksThroughLinksAreFollowedNotReadLexically() throws {
        // `y -> sub/c/up/../../../etc/shadow` with `sub/c/up -> ../..`: up leads to the root,
        // so the path is /etc/shadow, which the target's text alone would not say.
        let links = ["y": "sub/c/up/../../../etc/shadow", "sub/c/up": "../.."]
        #expect(try Self.resolve("y", links) == "/etc/shadow")
        // A link to a link to a directory, then names below it.
        #expect(try Self.resolve("bin/sh", ["bin": "usr/bin", "usr": "/opt/usr"]) == "/opt/usr/bin/sh")
    }

    @Test func theLastNameIsFollowedOnlyWhenAsked() throws {
        #expect(try Self.resolve("a/l", ["a/l": "/t"], followingLast: false) == "/a/l")
        #expect(try Self.resolve("a/l", ["a/l": "/t"]) == "/t")
        // Not following the last name still follows the links before it.
        #expect(try Self.resolve("l/x", ["l": "/t", "t/x": "/u"], followingLast: false) == "/t/x")
    }

    @Test func loopsEndAfterTheKernelsFortyLinks() throws {
        #expect(RootedPath.maxLinksFollowed == 40)
        #expect(throws: RootedPath.Failure.tooManyLinks) { try Self.resolve("a", ["a": "b", "b": "a"]) }
        #expect(throws: RootedPath.Failure.tooManyLinks) { try Self.resolve("self/x", ["self": "self"]) }
        #expect(throws: RootedPath.Failure.tooManyLinks) { try Self.resolve("d/x", ["d": "./d/../d"]) }
        // A loop through the last name is a loop only when the last name is followed.
        #expect(try Self.resolve("a", ["a": "a"], followingLast: false) == "/a")
    }

    @Test func aChainOfFortyResolvesAndFortyOneDoesNot() throws {
        // l0 -> l1 -> ... -> l(n-1) -> /end: n links.
        func chain(_ n: Int) -> [String: String] {
            var links: [String: String] = [:]
            for i in 0..<n { links["l\(i)"] = i == n - 1 ? "/end" : "l\(i + 1)" }
            return links
        }
        #expect(try Self.resolve("l0/x", chain(40)) == "/end/x")
        #expect(throws: RootedPath.Failure.tooManyLinks) { try Self.resolve("l0/x", chain(41)) }
        // Every link on the way counts, in every component: 20 + 21 is over.
        var two = chain(20)
        for i in 0..<21 { two["end/m\(i)"] = i == 20 ? "/z" : "m\(i + 1)" }
        #expect(throws: RootedPath.Failure.tooManyLinks) { try Self.resolve("l0/m0", two) }
        two["end/m20"] = nil
        #expect(try Self.resolve("l0/m0", two) == "/end/m20")
    }

    @Test func anEmptyTargetLeadsNowhere() {
        #expect(throws: RootedPath.Failure.emptyLinkTarget(path: ["a", "e"])) { try Self.resolve("a/e/x", ["a/e": ""]) }
    }

    @Test func theTreeMayRefuseAName() {
        // A tree's own rule (the overlay scanner's boundary, the base's PATH_MAX) ends the walk.
        let tree = Links(links: ["in/l": "../out/x"], refused: "out")
        #expect(throws: Links.Refused(path: "out")) { try RootedPath.resolve("in/l", in: tree) }
    }

    /// A tree whose places are nothing: link targets are read from the link's directory.
    struct Plain: LinkedTree {
        var links: [String: String]
        var rootPlace: Void { () }
        func step(into _: String, of _: Void, path: [String], isLast _: Bool) throws -> (place: Void, linkTarget: String?) {
            ((), links[path.joined(separator: "/")])
        }
    }

    @Test func aLinkTargetResolvesFromItsDirectory() throws {
        let tree = Plain(links: ["etc/app/conf": "../common/conf", "etc/common": "/srv/common"])
        #expect(try RootedPath.resolve(linkTarget: "x", in: ["etc", "app"], of: tree) == ["etc", "app", "x"])
        #expect(try RootedPath.resolve(linkTarget: "../common/conf", in: ["etc", "app"], of: tree) == ["srv", "common", "conf"])
        #expect(try RootedPath.resolve(linkTarget: "/etc/app/conf", in: ["deep", "er"], of: tree) == ["srv", "common", "conf"])
        #expect(try RootedPath.resolve(linkTarget: "../../../../x", in: ["etc", "app"], of: tree) == ["x"])
    }
}

// The one place that knows which C library kiln runs on. Every other file imports this module
// (which re-exports the POSIX API of Glibc or Darwin) and never names Glibc or Darwin itself;
// what differs between the two, or exists on one only, is a function of `LibC` below.
// A test (PlatformShimTests) fails on any Glibc or Darwin name elsewhere in Sources/.
#if canImport(Glibc)
@_exported import Glibc
#elseif canImport(Darwin)
@_exported import Darwin
#else
#error("kiln runs on Linux (Glibc) and macOS (Darwin)")
#endif

package enum LibC {
    /// The text of the current `errno`.
    package static func errorText() -> String { String(cString: strerror(errno)) }

    /// `read(2)`, under a name no Swift type shadows.
    package static func read(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
        #if canImport(Glibc)
        return Glibc.read(fd, buffer, count)
        #else
        return Darwin.read(fd, buffer, count)
        #endif
    }

    /// `rename(2)`.
    package static func rename(_ from: String, _ to: String) -> Int32 {
        #if canImport(Glibc)
        return Glibc.rename(from, to)
        #else
        return Darwin.rename(from, to)
        #endif
    }

    /// `close(2)`.
    package static func close(_ fd: Int32) -> Int32 {
        #if canImport(Glibc)
        return Glibc.close(fd)
        #else
        return Darwin.close(fd)
        #endif
    }

    /// Seconds of a file's modification time (`st_mtim` on Linux, `st_mtimespec` on macOS).
    package static func modificationSeconds(_ info: stat) -> Int {
        #if canImport(Glibc)
        return Int(info.st_mtim.tv_sec)
        #else
        return Int(info.st_mtimespec.tv_sec)
        #endif
    }
}

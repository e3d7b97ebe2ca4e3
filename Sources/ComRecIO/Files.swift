#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import CComRecSignals
import ComRecKernels
import Synchronization

// Files: reading inputs (never written to) and writing outputs atomically. An output is written
// to a temporary file in the same directory and renamed into place, so a reader never sees a
// partial file and a failure leaves nothing behind; an existing output is refused without `force`.

/// The path that stands for standard input (as an input) or standard output (as an output), as
/// in the libjpeg tools.
public let standardStreamPath = "-"

/// The most bytes an input file may have unless the caller says otherwise: the default memory
/// allowed for one image (--max-memory), since an input larger than that could not be worked on
/// within it.
public let defaultMaxInputBytes = 2 << 30

/// Reads the whole of the file at `path` (standard input for `-`). Missing, unreadable, directory and empty inputs each
/// give their own one-line error, and so does an input of more than `maxBytes` (refused before
/// reading when the file's size says so) or one whose memory the system refuses. When `formats`
/// is given and the first bytes read are of none of them, only those bytes are returned, so that
/// the caller's format check refuses a large file of something else without reading all of it.
public func readInputFile(
    _ path: String, maxBytes: Int = defaultMaxInputBytes, formats: Set<ImageFormat>? = nil
) throws -> [UInt8] {
    let fromStandardInput = path == standardStreamPath
    let fd = fromStandardInput ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else {
        let code = errno
        switch code {
        case ENOENT: throw ComRecIOError(path: path, .noSuchFile)
        case EACCES: throw ComRecIOError(path: path, .permissionDenied)
        default: throw ComRecIOError(path: path, .cannotOpen(systemMessage(code)))
        }
    }
    defer { if !fromStandardInput { close(fd) } }
    var info = stat()
    guard fstat(fd, &info) == 0 else { throw ComRecIOError(path: path, .cannotRead(systemMessage(errno))) }
    if (info.st_mode & S_IFMT) == S_IFDIR { throw ComRecIOError(path: path, .inputIsADirectory) }
    // Swift's arrays stop the process when the system refuses their memory, so each size is
    // asked of the system first (`systemGrants`).
    var bytes: [UInt8] = []
    func reserve(_ capacity: Int) throws {
        guard systemGrants(bytes: capacity) else { throw ComRecIOError(path: path, .inputOutOfMemory(bytes: capacity)) }
        bytes.reserveCapacity(capacity)
    }
    let isRegular = (info.st_mode & S_IFMT) == S_IFREG, fileSize = Int(info.st_size)
    if isRegular {
        guard fileSize <= maxBytes else { throw ComRecIOError(path: path, .inputTooLarge(bytes: fileSize, limit: maxBytes)) }
        // Until the first bytes have shown the format, no more than a chunk.
        try reserve(formats == nil ? fileSize : min(fileSize, 1 << 16))
    }
    var sniffed = formats == nil
    try readChunks(of: fd, failure: { ComRecIOError(path: path, .cannotRead($0)) }) { chunk in
        guard bytes.count + chunk.count <= maxBytes else {
            throw ComRecIOError(path: path, .inputTooLarge(bytes: nil, limit: maxBytes))
        }
        if bytes.count + chunk.count > bytes.capacity {
            try reserve(min(maxBytes, max(bytes.count + chunk.count, bytes.capacity * 2)))
        }
        bytes += chunk
        if !sniffed && bytes.count >= ImageFormat.signatureBytes {
            sniffed = true
            if let formats, ImageFormat.detect(bytes).map({ !formats.contains($0) }) ?? true { return false }
            if isRegular { try reserve(max(fileSize, bytes.count)) }
        }
        return true
    }
    if bytes.isEmpty { throw ComRecIOError(path: path, .emptyFile) }
    return bytes
}

/// An output file being written: created in the destination directory before any work is done
/// (which proves the directory is writable), then either committed (named `path`) or discarded
/// (also on deinit). Where the file system allows, the file has no name until it is committed
/// (Linux O_TMPFILE), so nothing is left behind even if the process is killed (SIGKILL, power
/// loss); elsewhere it is a hidden temporary file, removed on failure and on SIGINT, SIGTERM and
/// SIGHUP. Not for use from several threads.
public final class AtomicOutput {
    public let path: String
    public let force: Bool
    /// The hidden temporary file, or nil while the file is unnamed.
    private(set) var temporaryPath: String?
    /// Whether the file being written has no name yet (O_TMPFILE): nothing to clean up if killed.
    public var isUnnamed: Bool { temporaryPath == nil && !finished }
    private var fd: Int32
    private var finished = false
    /// Registration with the interrupt cleanup (see installInterruptCleanup), or -1.
    private var cleanupSlot: Int32 = -1

    /// Whether `commit()` copies the file to standard output (`path` is `-`) instead of naming it.
    public let toStandardOutput: Bool

    /// Checks `path` and creates the temporary file. Refuses an existing `path` unless `force`,
    /// a directory at `path` always, and a `path` that is the same file as one of `inputs`.
    /// `path` `-` is standard output: the output is written to a scratch file with no name and
    /// copied to standard output when committed, so a failure writes nothing there either.
    public init(path: String, force: Bool, inputs: [String] = []) throws {
        self.path = path
        self.force = force
        toStandardOutput = path == standardStreamPath
        if toStandardOutput {
            let scratch = crc_open_scratch()
            guard scratch >= 0 else { throw ComRecIOError(path: path, .cannotCreate(systemMessage(errno))) }
            fd = scratch
            temporaryPath = nil
            return
        }
        var existing = stat()
        if stat(path, &existing) == 0 {
            if (existing.st_mode & S_IFMT) == S_IFDIR {
                throw ComRecIOError(path: path, .outputIsADirectory)
            }
            for input in inputs where input != standardStreamPath {
                var inputInfo = stat()
                if stat(input, &inputInfo) == 0, inputInfo.st_dev == existing.st_dev, inputInfo.st_ino == existing.st_ino {
                    throw ComRecIOError(path: path, .outputIsTheInput)
                }
            }
            if !force { throw ComRecIOError(path: path, .outputExists) }
        }
        let (directory, name) = splitPath(path)
        var directoryInfo = stat()
        guard stat(directory, &directoryInfo) == 0 else {
            throw ComRecIOError(path: path, .outputDirectoryMissing(directory))
        }
        guard (directoryInfo.st_mode & S_IFMT) == S_IFDIR else {
            throw ComRecIOError(path: path, .outputParentIsNotADirectory(directory))
        }
        AtomicOutput.sweepOnce(directory)
        let unnamed = crc_open_unnamed(directory)
        if unnamed >= 0 {
            fd = unnamed
            temporaryPath = nil
            return
        }
        let (descriptor, candidate, slot) = try AtomicOutput.createTemporary(in: directory, name: name, for: path)
        fd = descriptor
        temporaryPath = candidate
        cleanupSlot = slot
    }

    /// Directories swept by this process (a batch writes many outputs into one directory).
    private static let swept = Mutex<Set<String>>([])

    /// Sweeps `directory` the first time this process writes there (see `sweepStaleTemporaries`).
    private static func sweepOnce(_ directory: String) {
        let first = swept.withLock { $0.insert(directory).inserted }
        if first { _ = sweepStaleTemporaries(in: directory) }
    }

    /// Removes hidden temporary files that an earlier comrec left in `directory` when it was killed
    /// where unnamed files were unavailable (`.NAME.comrec-PID-N-RANDOM.tmp`): only those whose
    /// process does not exist on this machine and that were last modified more than `minimumAge`
    /// seconds ago. A temporary file is created before the work and written only at the end, so its
    /// age says nothing about whether its writer is alive; the PID does, on this machine, but on a
    /// shared network directory it may be another machine's: the day of margin covers that (no
    /// output takes a day). Returns the names removed; errors (an unreadable directory, a file
    /// removed meanwhile) are ignored.
    @discardableResult
    static func sweepStaleTemporaries(in directory: String, minimumAge: Double = 24 * 3600) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        let now = Double(time(nil))
        var removed: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            guard name.hasPrefix("."), name.hasSuffix(".tmp"), let marker = name.ranges(of: ".comrec-").last else { continue }
            let fields = name[marker.upperBound...].dropLast(4).split(separator: "-")
            guard fields.count == 3, let pid = Int32(fields[0]), pid > 0, fields.dropFirst().allSatisfy({ UInt64($0) != nil }) else { continue }
            guard kill(pid, 0) != 0 && errno == ESRCH else { continue }  // its process may still be writing
            let path = directory + "/" + name
            var info = stat()
            guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, now - modificationTime(info) > minimumAge else { continue }
            if unlink(path) == 0 { removed.append(name) }
        }
        return removed
    }

    private static func modificationTime(_ info: stat) -> Double {
        #if canImport(Darwin)
        return Double(info.st_mtimespec.tv_sec)
        #else
        return Double(info.st_mtim.tv_sec)
        #endif
    }

    /// `directory/.name.comrec-PID-N-RANDOM.tmp`: hidden, and unique to this process and attempt.
    private static func temporaryName(in directory: String, for name: String, attempt: Int) -> String {
        directory + "/." + name + ".comrec-\(getpid())-\(attempt)-\(UInt32.random(in: 0...UInt32.max)).tmp"
    }

    /// A new hidden file `directory/.name.comrec-PID-N-RANDOM.tmp`, registered for the interrupt
    /// cleanup before it exists (so that no moment is left where an interrupt could leave it).
    private static func createTemporary(in directory: String, name: String, for path: String) throws
        -> (fd: Int32, path: String, slot: Int32) {
        var failure: Int32 = 0
        for attempt in 0..<100 {
            let candidate = AtomicOutput.temporaryName(in: directory, for: name, attempt: attempt)
            let slot = crc_cleanup_add(candidate)
            let descriptor = open(candidate, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
            failure = errno
            if descriptor >= 0 { return (descriptor, candidate, slot) }
            crc_cleanup_remove(slot)
            if failure != EEXIST { break }
        }
        throw ComRecIOError(path: path, .outputDirectoryNotWritable(directory: directory, why: systemMessage(failure)))
    }

    deinit { discard() }

    /// Writes `bytes` to the temporary file, flushes it to disk and moves it to `path`.
    public func commit(_ bytes: [UInt8]) throws {
        precondition(!finished, "AtomicOutput committed twice")
        do {
            try bytes.withUnsafeBytes { try append($0) }
        } catch {
            discard()
            throw error
        }
        try commit()
    }

    /// The temporary file's descriptor, for a writer that streams into it (PNG rows): write
    /// only, then `commit()`. -1 once committed or discarded.
    public var descriptor: Int32 { fd }

    /// Appends `bytes` to the temporary file.
    public func append(_ bytes: UnsafeRawBufferPointer) throws {
        precondition(!finished, "AtomicOutput already committed or discarded")
        try writeAll(bytes, to: fd, path: path)
    }

    /// Flushes what was written to disk and moves it to `path`.
    public func commit() throws {
        precondition(!finished, "AtomicOutput committed twice")
        defer { discard() }
        if toStandardOutput {
            try copyToStandardOutput()
            finished = true
            return
        }
        guard fsync(fd) == 0 else { throw ComRecIOError(path: path, .cannotWrite(systemMessage(errno))) }
        if temporaryPath == nil {
            // Unnamed: without --force, linkat names it only if `path` still does not exist (never
            // clobbering a file created meanwhile); with --force it gets a hidden name first and
            // is renamed over `path`, which replaces atomically.
            if !force {
                guard crc_name_unnamed(fd, path) == 0 else {
                    throw ComRecIOError(path: path, errno == EEXIST ? .outputExists : .cannotCreate(systemMessage(errno)))
                }
                finished = true
                return
            }
            let (directory, name) = splitPath(path)
            var failure: Int32 = EEXIST
            for attempt in 0..<100 where failure == EEXIST {
                let candidate = AtomicOutput.temporaryName(in: directory, for: name, attempt: attempt)
                let slot = crc_cleanup_add(candidate)
                if crc_name_unnamed(fd, candidate) == 0 {
                    temporaryPath = candidate
                    cleanupSlot = slot
                    failure = 0
                } else {
                    failure = errno
                    crc_cleanup_remove(slot)
                }
            }
            guard failure == 0 else { throw ComRecIOError(path: path, .cannotCreate(systemMessage(failure))) }
        }
        close(fd)
        fd = -1
        guard let temporaryPath else { preconditionFailure("named above") }
        if force {
            guard rename(temporaryPath, path) == 0 else {
                throw ComRecIOError(path: path, .cannotCreate(systemMessage(errno)))
            }
        } else {
            // link() fails if `path` appeared since init: never clobber a file created meanwhile.
            if link(temporaryPath, path) != 0 {
                let code = errno
                if code == EEXIST { throw ComRecIOError(path: path, .outputExists) }
                // File systems without hard links: fall back to a checked rename.
                var existing = stat()
                guard stat(path, &existing) != 0 else {
                    throw ComRecIOError(path: path, .outputExists)
                }
                guard rename(temporaryPath, path) == 0 else {
                    throw ComRecIOError(path: path, .cannotCreate(systemMessage(errno)))
                }
            }
        }
        finished = true
    }

    /// Copies the scratch file to standard output. A reader that closed the pipe early is an
    /// error (EPIPE: the CLI ignores SIGPIPE), not a silent death.
    private func copyToStandardOutput() throws {
        guard lseek(fd, 0, SEEK_SET) == 0 else { throw ComRecIOError(path: path, .cannotWrite(systemMessage(errno))) }
        try readChunks(of: fd, failure: { ComRecIOError(path: path, .cannotWrite($0)) }) { chunk in
            try writeAll(chunk, to: STDOUT_FILENO, path: path)
            return true
        }
    }

    /// Deletes the temporary file (if still there). Safe to call more than once.
    public func discard() {
        if fd >= 0 {
            close(fd)
            fd = -1
        }
        if let temporaryPath { unlink(temporaryPath) }  // after a rename nothing is left; after link, the extra name
        crc_cleanup_remove(cleanupSlot)
        cleanupSlot = -1
        finished = true
    }
}

/// Makes SIGINT, SIGTERM and SIGHUP delete the temporary files of every AtomicOutput still open
/// before the process dies (by the same signal), and SIGPIPE an error of the write that met a
/// closed pipe. For programs, not libraries: call once at start.
public func installInterruptCleanup() {
    crc_cleanup_install()
    crc_ignore_sigpipe()
}

/// Writes `bytes` to `path` atomically (see AtomicOutput).
public func writeFileAtomically(_ bytes: [UInt8], to path: String, force: Bool) throws {
    try AtomicOutput(path: path, force: force).commit(bytes)
}

/// Reads `fd` to its end, a 64 KB chunk at a time (retrying interrupted reads), giving each chunk to
/// `body`, which returns false to stop early; a read error becomes `failure(the system's message)`.
func readChunks(
    of fd: Int32, failure: (String) -> ComRecIOError, _ body: (UnsafeRawBufferPointer) throws -> Bool
) throws {
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count < 0 {
            if errno == EINTR { continue }
            throw failure(systemMessage(errno))
        }
        if count == 0 { return }
        if try !chunk.withUnsafeBytes({ try body(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }) { return }
    }
}

/// Writes all of `bytes` to `fd` (retrying interrupted and short writes); an error names `path`.
func writeAll(_ bytes: UnsafeRawBufferPointer, to fd: Int32, path: String) throws {
    var written = 0
    while written < bytes.count {
        let count = write(fd, bytes.baseAddress! + written, bytes.count - written)
        if count < 0 {
            if errno == EINTR { continue }
            throw ComRecIOError(path: path, .cannotWrite(systemMessage(errno)))
        }
        written += count
    }
}

/// Directory and last component of a path ("." for a bare name).
func splitPath(_ path: String) -> (directory: String, name: String) {
    guard let slash = path.lastIndex(of: "/") else { return (".", path) }
    let directory = String(path[..<slash])
    return (directory.isEmpty ? "/" : directory, String(path[path.index(after: slash)...]))
}

/// Whether `path` names an existing directory.
public func isDirectory(_ path: String) -> Bool {
    var info = stat()
    return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
}

func systemMessage(_ code: Int32) -> String {
    String(cString: strerror(code))
}

import CProcess
import Foundation

/// A child process started with `posix_spawn` in a process group of its own, its stdout and
/// stderr read line by line on two threads, stdin `/dev/null`, no other descriptor inherited and
/// the default action for SIGTERM, SIGINT and SIGPIPE (the server ignores the first two).
///
/// The owner polls `hasExited()`, may `signal(_:)` the whole group, and ends with `reap()`, which
/// kills whatever is left of the group, collects the exit status and waits for the readers.
final class ChildProcess: @unchecked Sendable {
    /// How the process ended.
    enum Termination: Equatable, CustomStringConvertible {
        case exited(Int32)
        case signaled(Int32)

        var description: String {
            switch self {
            case .exited(let code): return "exited with status \(code)"
            case .signaled(let sig): return "killed by signal \(sig) (\(SignalName.of(sig)))"
            }
        }
    }

    /// The process id, also the id of its process group.
    let pid: pid_t
    private let readers = DispatchGroup()
    private var reaped: Termination?

    /// Starts `executable` with `arguments` (argv[1...]) and the server's environment; `stdout`
    /// and `stderr` receive each line (without its newline) on their reader threads.
    init(executable: String, arguments: [String],
         stdout: @escaping @Sendable ([UInt8]) -> Void, stderr: @escaping @Sendable ([UInt8]) -> Void) throws {
        var out: [Int32] = [-1, -1], err: [Int32] = [-1, -1]
        guard pipe(&out) == 0 else { throw ChildProcessError.pipe(errno) }
        guard pipe(&err) == 0 else {
            let e = errno
            close(out[0]); close(out[1])
            throw ChildProcessError.pipe(e)
        }
        _ = fcntl(out[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(err[0], F_SETFD, FD_CLOEXEC)

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, out[1], 1)
        posix_spawn_file_actions_adddup2(&actions, err[1], 2)
        _ = surgeon_spawn_close_from(&actions, 3)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t(), mask = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGTERM, SIGINT, SIGPIPE, SIGCHLD] { sigaddset(&defaults, s) }
        sigemptyset(&mask)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &mask)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, executable, &actions, &attributes, argv, environ)
        close(out[1]); close(err[1])
        guard rc == 0 else {
            close(out[0]); close(err[0])
            throw ChildProcessError.spawn(executable: executable, errno: rc)
        }
        pid = child
        Self.startReader(fd: out[0], group: readers, name: "surgeon-child-\(child)-stdout", onLine: stdout)
        Self.startReader(fd: err[0], group: readers, name: "surgeon-child-\(child)-stderr", onLine: stderr)
    }

    /// `true` once the process has exited (it is left a zombie for `reap()`).
    func hasExited() -> Bool {
        if reaped != nil { return true }
        var info = siginfo_t()
        return waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_signo == SIGCHLD
    }

    /// Sends `sig` to the child's process group (the child and anything it started).
    func signal(_ sig: Int32) {
        guard reaped == nil else { return }
        _ = kill(-pid, sig)
    }

    /// Waits for the child to exit, SIGKILLs what is left of its group, collects the status and
    /// waits until both pipes are drained. Call once, from the thread that supervises the child.
    @discardableResult
    func reap() -> Termination {
        if let reaped { return reaped }
        var info = siginfo_t()
        while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) != 0 && errno == EINTR {}
        _ = kill(-pid, SIGKILL)  // stragglers; the zombie keeps the group id from being reused
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let termination: Termination = (status & 0x7f) == 0 ? .exited((status >> 8) & 0xff) : .signaled(status & 0x7f)
        reaped = termination
        readers.wait()
        return termination
    }

    /// The child's resident set size from `/proc/<pid>/status` (`VmRSS`), `nil` once it is gone.
    func residentBytes() -> Int? {
        guard reaped == nil, let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2, let kb = Int(fields[1]) else { return nil }
            return kb * 1024
        }
        return nil
    }

    private static func startReader(fd: Int32, group: DispatchGroup, name: String, onLine: @escaping @Sendable ([UInt8]) -> Void) {
        group.enter()
        let thread = Thread {
            defer { close(fd); group.leave() }
            var pending: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 64 << 10)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                var start = 0
                for i in 0..<n where buffer[i] == 0x0A {
                    pending.append(contentsOf: buffer[start..<i])
                    onLine(pending)
                    pending.removeAll(keepingCapacity: true)
                    start = i + 1
                }
                pending.append(contentsOf: buffer[start..<n])
            }
            if !pending.isEmpty { onLine(pending) }
        }
        thread.name = name
        thread.start()
    }
}

/// A child process that could not be started.
enum ChildProcessError: Error, CustomStringConvertible {
    case pipe(Int32)
    case spawn(executable: String, errno: Int32)

    var description: String {
        switch self {
        case .pipe(let e): return "cannot create a pipe for the worker process: \(String(cString: strerror(e)))"
        case .spawn(let path, let e): return "cannot start the worker process \(path): \(String(cString: strerror(e)))"
        }
    }
}

/// Names of the signals a worker process is likely to die of.
enum SignalName {
    static func of(_ sig: Int32) -> String {
        switch sig {
        case SIGHUP: return "SIGHUP"
        case SIGINT: return "SIGINT"
        case SIGQUIT: return "SIGQUIT"
        case SIGILL: return "SIGILL"
        case SIGTRAP: return "SIGTRAP"
        case SIGABRT: return "SIGABRT"
        case SIGBUS: return "SIGBUS"
        case SIGFPE: return "SIGFPE"
        case SIGKILL: return "SIGKILL"
        case SIGSEGV: return "SIGSEGV"
        case SIGPIPE: return "SIGPIPE"
        case SIGTERM: return "SIGTERM"
        case SIGXCPU: return "SIGXCPU"
        case SIGXFSZ: return "SIGXFSZ"
        default: return strsignal(sig).map { String(cString: $0) } ?? "unknown"
        }
    }
}

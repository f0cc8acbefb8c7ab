import Foundation
import XCTest

/// Issue 13's two-host check on one machine: two network namespaces joined by a veth pair, one rank in each, Open
/// MPI's TCP transport on the veth addresses only; `mpirun` runs in the first namespace and starts the second
/// rank through an "rsh agent" that enters the other namespace. The pruned model must match one process's.
extension DistributedPruneTests {
    /// Runs a command, returning its status and output; fails the test when it does not end within `limit` seconds.
    @discardableResult
    static func sh(_ args: [String], limit: Double = 30) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        let pipe = Pipe()
        p.standardOutput = pipe; p.standardError = pipe
        try p.run()
        let deadline = DispatchTime.now() + limit
        DispatchQueue.global().asyncAfter(deadline: deadline) { if p.isRunning { p.terminate() } }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data.suffix(4000), as: UTF8.self))
    }

    func testTwoHosts_NetworkNamespacesOverTCP_MatchOneProcess() throws {
        let mpirun = try Self.mpirun()
        guard getuid() == 0 else { throw XCTSkip("network namespaces need root") }
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") || FileManager.default.isExecutableFile(atPath: "/usr/bin/ip") || FileManager.default.isExecutableFile(atPath: "/sbin/ip") else {
            throw XCTSkip("iproute2's ip is not installed (scripts/setup.sh installs it)")
        }
        guard FileManager.default.fileExists(atPath: DistributedPruneTests.smolLM2) else { throw XCTSkip("SmolLM2 not installed") }
        let tag = String(getpid() % 10000)
        let nsA = "surgeonA\(tag)", nsB = "surgeonB\(tag)"
        let third = Int(getpid() % 200) + 20
        let ipA = "10.213.\(third).1", ipB = "10.213.\(third).2", subnet = "10.213.\(third).0/24"
        let (added, why) = try Self.sh(["ip", "netns", "add", nsA])
        guard added == 0 else { throw XCTSkip("ip netns add failed (no CAP_SYS_ADMIN here?): \(why)") }
        defer { _ = try? Self.sh(["ip", "netns", "del", nsA]); _ = try? Self.sh(["ip", "netns", "del", nsB]) }
        for cmd in [["ip", "netns", "add", nsB],
                    ["ip", "link", "add", "sv\(tag)a", "type", "veth", "peer", "name", "sv\(tag)b"],
                    ["ip", "link", "set", "sv\(tag)a", "netns", nsA], ["ip", "link", "set", "sv\(tag)b", "netns", nsB],
                    ["ip", "-n", nsA, "addr", "add", ipA + "/24", "dev", "sv\(tag)a"],
                    ["ip", "-n", nsB, "addr", "add", ipB + "/24", "dev", "sv\(tag)b"],
                    ["ip", "-n", nsA, "link", "set", "sv\(tag)a", "up"], ["ip", "-n", nsB, "link", "set", "sv\(tag)b", "up"],
                    ["ip", "-n", nsA, "link", "set", "lo", "up"], ["ip", "-n", nsB, "link", "set", "lo", "up"]] {
            let (rc, out) = try Self.sh(cmd)
            XCTAssertEqual(rc, 0, "\(cmd.joined(separator: " ")): \(out)")
            guard rc == 0 else { return }
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("surgeon-twohost-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let agent = dir.appendingPathComponent("netns-agent.sh")
        try """
            #!/bin/sh
            # Open MPI's rsh agent: "HOST COMMAND…" → the command inside HOST's namespace.
            host=$1; shift
            case $host in \(ipA)) ns=\(nsA);; \(ipB)) ns=\(nsB);; *) echo "netns-agent: unknown host $host" >&2; exit 1;; esac
            exec ip netns exec "$ns" /bin/sh -c "$*"
            """.write(to: agent, atomically: true, encoding: .utf8)
        chmod(agent.path, 0o755)
        let model = try DistributedPruneTests.tiny(into: dir.appendingPathComponent("tiny"))
        let one = dir.appendingPathComponent("one"), two = dir.appendingPathComponent("two")
        let (s1, e1) = try prune(model: model, structure: "structured", sparsity: "0.2", ranks: 1, out: one)
        XCTAssertEqual(s1, 0, e1)
        let args = ["prune", "--model", model, "--structure", "structured", "--sparsity", "0.2", "--shots", "2",
                    "--calibration", DistributedPruneTests.calibration, "--samples", "4", "--seqlen", "64", "--out", two.path]
        let (s2, e2) = try Self.sh(["OPENBLAS_NUM_THREADS=1", "ip", "netns", "exec", nsA, mpirun, "--allow-run-as-root", "-np", "2",
                                    "--host", "\(ipA),\(ipB)", "--mca", "plm_rsh_agent", agent.path,
                                    "--mca", "btl", "tcp,self", "--mca", "btl_tcp_if_include", subnet,
                                    "--mca", "oob_tcp_if_include", subnet, "--bind-to", "none", "-x", "OPENBLAS_NUM_THREADS",
                                    binary.path] + args, limit: 300)
        XCTAssertEqual(s2, 0, e2)
        guard s1 == 0, s2 == 0 else { return }
        print("two namespaces over TCP (\(ipA), \(ipB)):")
        try compare(one, two)
        let d = try XCTUnwrap(report(two).distributed)
        XCTAssertEqual(d.ranks, 2)
        print("bytes sent per shot per rank over TCP: \(d.bytesSentPerShot)")
    }
}

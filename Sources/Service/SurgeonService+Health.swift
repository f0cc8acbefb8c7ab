import Foundation
import HTTP
import Jobs

extension SurgeonService {
    func healthz(_ c: RouteContext) -> HTTPResponse { Reply.json(200, ["status": "ok"]) }

    func readyz(_ c: RouteContext) throws -> HTTPResponse {
        let probe = URL(fileURLWithPath: config.dataDir).appendingPathComponent("tmp/.ready-probe")
        // Unauthenticated: the reasons name no paths and carry no error text (the log has both).
        do { try AtomicFile.write(Data("ok".utf8), to: probe) } catch {
            FileHandle.standardError.write(Data("surgeon: readyz: \(probe.path) cannot be written: \(error)\n".utf8))
            throw Problem.notReady("the data directory is not writable")
        }
        _ = try? FileManager.default.removeItem(at: probe)
        guard manager.isRunning else { throw Problem.notReady("the job workers are not running") }
        do { _ = try manager.statistics() } catch {
            FileHandle.standardError.write(Data("surgeon: readyz: the job store cannot be read: \(error)\n".utf8))
            throw Problem.notReady("the job store cannot be read")
        }
        return Reply.json(200, ["status": "ready"])
    }

    func metricsText(_ c: RouteContext) throws -> HTTPResponse {
        let stats = try manager.statistics()
        var out = "# HELP surgeon_jobs Jobs in the store by status.\n# TYPE surgeon_jobs gauge\n"
        for s in JobStatus.allCases { out += "surgeon_jobs{status=\"\(s.rawValue)\"} \(stats.byStatus[s] ?? 0)\n" }
        out += "# HELP surgeon_queue_depth Jobs waiting for a worker.\n# TYPE surgeon_queue_depth gauge\nsurgeon_queue_depth \(stats.queueDepth)\n"
        out += "# HELP surgeon_workers_busy Workers running a job.\n# TYPE surgeon_workers_busy gauge\nsurgeon_workers_busy \(stats.busyWorkers)\n"
        out += "# HELP surgeon_workers Worker threads.\n# TYPE surgeon_workers gauge\nsurgeon_workers \(stats.workers)\n"
        out += metrics.render()
        return HTTPResponse(status: 200, headers: HTTPHeaders([("Content-Type", "text/plain; version=0.0.4; charset=utf-8")]),
                            body: .bytes(Array(out.utf8)))
    }
}

import Foundation
import Pruning

extension JobManager {
    /// The client text of the job `spec` whose runner writes into `output`: `options.clientText` plus the
    /// job's own places (`ClientText.forJob`).
    func clientText(_ spec: JobSpec, output: URL?) -> ClientText {
        options.clientText.forJob(spec, directory: output?.deletingLastPathComponent())
    }

    /// `clientText(_:output:)` of a stored job.
    func clientText(of job: Job) -> ClientText {
        clientText(job.spec, output: try? store.outputDirectory(of: job.id))
    }

    /// The report as the job keeps it for clients: the request by names (as submitted) and the evaluation
    /// protocol scrubbed. The runner's `report.json` in `output` is rewritten the same way (it is an artifact);
    /// a rewrite the disk refuses is logged and leaves the file as the runner wrote it.
    func clientReport(_ report: PruneReport, of job: Job, output: URL?, text: ClientText) -> PruneReport {
        var r = report
        r.request = job.spec.request
        r.evaluation = report.evaluation.map(text.scrub)
        if let output {
            let file = output.appendingPathComponent("report.json")
            if FileManager.default.fileExists(atPath: file.path) {
                do { try AtomicFile.write(try JobCoding.encoder(pretty: true).encode(r), to: file) } catch {
                    log("job \(job.id): report.json keeps the runner's paths: \(error)")
                }
            }
        }
        return r
    }
}

extension PruneProgress {
    /// The progress with its message scrubbed for clients.
    func scrubbed(_ text: ClientText) -> PruneProgress {
        var p = self
        p.message = text.scrub(message)
        return p
    }
}

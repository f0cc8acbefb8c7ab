import Foundation
import Pruning

extension JobManager {
    /// Rescans the store and starts the workers: `queued` jobs are queued again in creation order,
    /// `running` ones re-queued with attempt + 1 (the runner resumes after the last finished shot),
    /// `cancelling` ones become `cancelled`.
    public func start() throws {
        cond.lock()
        defer { cond.unlock() }
        guard !started else { return }
        started = true
        for var job in try store.loadAll() where !job.status.isTerminal {
            let before = job.status
            let action = try job.state.handle(.restart)
            switch action {
            case .enqueue:
                try queue.enqueue(job.id, force: true)
                if before == .running {
                    try persistStatus(&job, message: "restarted: attempt \(job.state.attempt) resumes after shot \(job.state.finishedShots)")
                }
            case .finish:
                try finish(&job, message: "cancelled while the service was down")
            default:
                break
            }
        }
        for i in 0..<options.workers {
            let t = Thread { [self] in workerLoop() }
            t.name = "surgeon-worker-\(i)"
            t.stackSize = 8 << 20
            threads.append(t)
            runningThreads += 1
            t.start()
        }
    }

    /// Stops taking jobs, raises the cancel flag of running jobs without cancelling them (they stay
    /// `running` in the store and resume on the next start) and waits for the workers to exit.
    public func stop() {
        cond.lock()
        stopping = true
        cond.broadcast()
        while runningThreads > 0 { cond.wait() }
        cond.unlock()
    }

    /// Blocks until no job is queued or running, or `timeout` passes (tests, graceful drain).
    @discardableResult
    public func waitUntilIdle(timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        cond.lock(); defer { cond.unlock() }
        while queue.count > 0 || busyWorkers > 0 {
            if !cond.wait(until: deadline) { return false }
        }
        return true
    }

    /// The sum of the plans of the running jobs (the lock held).
    var plannedBytes: Int { runningPlans.values.reduce(0, +) }

    /// The sum of the plans of the running jobs, and how many there are.
    public var admitted: (bytes: Int, jobs: Int) { locked { (plannedBytes, runningPlans.count) } ?? (0, 0) }

    private func workerLoop() {
        cond.lock()
        while !stopping {
            guard let id = queue.first else { cond.wait(); continue }
            let need = (try? store.load(id))?.spec.memoryEstimateBytes ?? 0
            if let budget = options.memoryBudget, !runningPlans.isEmpty, plannedBytes + need > budget {
                cond.wait()  // the head waits (FIFO, no overtaking) until a running job ends
                continue
            }
            _ = queue.dequeue()
            runningPlans[id] = need
            busyWorkers += 1
            cond.unlock()
            runJob(id)
            cond.lock()
            runningPlans[id] = nil
            busyWorkers -= 1
            cond.broadcast()
        }
        runningThreads -= 1
        cond.broadcast()
        cond.unlock()
    }

    private func runJob(_ id: String) {
        let prepared: (JobSpec, URL, Int)? = locked {
            guard var job = try store.load(id) else { return nil }
            guard case .run(let resume) = try job.state.handle(.start) else { return nil }
            job.startedAt = job.startedAt ?? clock.now()
            job.error = nil
            try persistStatus(&job, message: resume > 0 ? "running attempt \(job.state.attempt), resuming after shot \(resume)" : "running")
            return (job.spec, try store.outputDirectory(of: id), job.state.attempt)
        } ?? nil
        guard let (spec, output, attempt) = prepared else { return }

        let result: Result<PruneReport, Error>
        do {
            let progress: @Sendable (PruneProgress) -> Void = { [self] p in record(progress: p, of: id) }
            let isCancelled: @Sendable () -> Bool = { [self] in locked { cancelFlags.contains(id) || stopping } ?? true }
            let report: PruneReport
            if let contextual = runner as? any JobContextPruneRunner {
                let context = JobRunContext(jobID: id, attempt: attempt, memoryEstimateBytes: spec.memoryEstimateBytes)
                report = try contextual.run(spec.resolved, context: context, outputDirectory: output,
                                            progress: progress, isCancelled: isCancelled)
            } else {
                report = try runner.run(spec.resolved, outputDirectory: output, progress: progress, isCancelled: isCancelled)
            }
            result = .success(report)
        } catch {
            result = .failure(error)
        }
        _ = locked { try complete(id, result) }
    }

    private func complete(_ id: String, _ result: Result<PruneReport, Error>) throws {
        guard var job = try store.load(id) else { return }
        let phase = liveProgress[id]?.phase ?? job.progress?.phase
        switch result {
        case .success(let report):
            while job.state.finishedShots < report.request.shots,
                  (try? job.state.handle(.shotFinished(job.state.finishedShots + 1))) != nil {}
            _ = try job.state.handle(.succeed)
            job.result = report
            try finish(&job, message: "succeeded")
        case .failure(let error as PruneCancelled) where job.status == .cancelling:
            _ = error
            _ = try job.state.handle(.runnerStopped)
            try finish(&job, message: "cancelled after shot \(job.state.finishedShots)")
        case .failure where stopping:
            // Shutdown: leave the job running on disk so the next start resumes it.
            if let p = liveProgress[id] { job.progress = p; try store.save(job) }
        case .failure(let error) where error is any RetryableRunnerError:
            try crashed(&job, error, phase: phase)
        case .failure(let error):
            _ = try job.state.handle(.fail)
            job.error = JobFailure(code: Self.failureCode(of: error), message: String(describing: error), phase: phase)
            try finish(&job, message: "failed: \(error)")
        }
    }

    /// The worker process was killed: queue the job again (attempt + 1, resumed after its last
    /// finished shot) while crash retries are left, else fail it with the reason; a job being
    /// cancelled is cancelled.
    private func crashed(_ job: inout Job, _ error: Error, phase: String?) throws {
        let retries = options.crashRetries
        let action = try job.state.handle(.crashed(maxRetries: retries))
        if let p = liveProgress.removeValue(forKey: job.id) { job.progress = p }
        switch (action, job.status) {
        case (.enqueue, _):
            try queue.enqueue(job.id, force: true)
            try persistStatus(&job, message: "\(error); retry \(job.state.crashes) of \(retries): attempt \(job.state.attempt) resumes after shot \(job.state.finishedShots)")
        case (_, .failed):
            let tried = retries == 0 ? "crash retries are off" : "after \(retries) \(retries == 1 ? "retry" : "retries")"
            job.error = JobFailure(code: Self.failureCode(of: error), message: "\(error) (\(tried))", phase: phase)
            try finish(&job, message: "failed: \(error) (\(tried))")
        default:
            try finish(&job, message: "cancelled after shot \(job.state.finishedShots) (\(error))")
        }
    }

    /// `JobFailure.code` of a runner error.
    static func failureCode(of error: Error) -> String {
        if let coded = error as? any CodedRunnerError { return coded.failureCode }
        return error is PruneCancelled ? "cancelled_unexpectedly" : "runner_error"
    }

    private func record(progress p: PruneProgress, of id: String) {
        _ = locked {
            guard var job = try store.load(id), !job.status.isTerminal else { return }
            let previous = liveProgress[id]
            liveProgress[id] = p
            // A shot is finished when the runner moves on to the next one or reports `done`.
            var upTo = job.state.finishedShots
            if let prev = previous, p.shot > prev.shot { upTo = max(upTo, p.shot - 1) }
            if p.phase == "done" { upTo = max(upTo, p.shot) }
            var changed = false
            while job.state.finishedShots < upTo {
                let shot = job.state.finishedShots + 1
                _ = try job.state.handle(.shotFinished(shot))
                _ = try store.append(JobEvent(time: clock.now(), kind: .checkpoint, shot: shot, message: "shot \(shot) finished"), to: id)
                changed = true
            }
            if changed { job.progress = p; job.updatedAt = clock.now(); try store.save(job) }
            _ = try store.append(JobEvent(time: clock.now(), kind: .progress, progress: p, message: p.message), to: id)
            cond.broadcast()
        }
    }

    /// Runs `body` with the lock held; store errors are swallowed into `nil` (logged).
    func locked<T>(_ body: () throws -> T) -> T? {
        cond.lock(); defer { cond.unlock() }
        do { return try body() } catch {
            FileHandle.standardError.write(Data("surgeon jobs: \(error)\n".utf8))
            return nil
        }
    }
}

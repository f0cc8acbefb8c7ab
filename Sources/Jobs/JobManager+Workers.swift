import Foundation
import Pruning

extension JobManager {
    /// Sweeps the store of what crashes left (`JobStore.sweep`, each removal logged), rescans it and starts the
    /// workers: `queued` jobs are queued again in creation order, `running` ones re-queued with attempt + 1 (the
    /// runner resumes after the last finished shot), `cancelling` ones become `cancelled`.
    public func start() throws {
        cond.lock()
        defer { cond.unlock() }
        guard !started else { return }
        started = true
        for line in store.sweep() { log("start-up sweep: \(line)") }
        for var job in try store.loadAll() where !job.status.isTerminal {
            let before = job.status
            let action = try job.state.handle(.restart)
            switch action {
            case .enqueue:
                try queue.enqueue(job.id, force: true)
                if before == .running {
                    record { try persistStatus(&job, message: "restarted: attempt \(job.state.attempt) resumes after shot \(job.state.finishedShots)") }
                }
            case .finish:
                record { try finish(&job, message: "cancelled while the service was down") }
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
        if !store.flush() { log("stop: some job states could not be written (the disk is full?)") }
        cond.unlock()
        eventHub.close()
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
            store.flush()  // states a full disk refused earlier
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
        cond.lock()
        let prepared = prepare(id)
        cond.unlock()
        guard let (spec, output, attempt) = prepared else { return }

        let result: Result<PruneReport, Error>
        do {
            try verifyInputs(spec)
            let text = clientText(spec, output: output)
            let progress: @Sendable (PruneProgress) -> Void = { [self] p in record(progress: p.scrubbed(text), of: id) }
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
        cond.lock()
        complete(id, result)
        cond.unlock()
    }

    /// Moves a dequeued job to `running` (the lock held). `nil` when it must not run: it is gone, or was
    /// cancelled between leaving the queue and this call, or its start could not be recorded (then it failed).
    private func prepare(_ id: String) -> (JobSpec, URL, Int)? {
        let loaded: Job?
        do { loaded = try store.load(id) } catch {
            log("job \(id) cannot be read and does not run: \(error)")
            return nil
        }
        guard var job = loaded, job.status == .queued, case .run(let resume)? = try? job.state.handle(.start) else { return nil }
        job.startedAt = job.startedAt ?? clock.now()
        job.error = nil
        do {
            let output = try store.outputDirectory(of: id)
            try persistStatus(&job, message: resume > 0 ? "running attempt \(job.state.attempt), resuming after shot \(resume)" : "running")
            return (job.spec, output, job.state.attempt)
        } catch {
            // Nothing can be kept for a job whose start cannot be recorded: fail it with the reason.
            log("job \(id) could not start: \(error)")
            let reason = clientText(of: job).describe(error)
            _ = try? job.state.handle(.fail)
            job.error = JobFailure(code: Self.storageCode(error), message: "the job could not start: \(reason)", phase: "start")
            record { try finish(&job, message: "failed: could not start: \(reason)") }
            return nil
        }
    }

    /// Checks the pinned inputs before a run: each must be there with its size, and a registered (not linked)
    /// file must still be the file it was at submission (same device, inode, size and modification time).
    func verifyInputs(_ spec: JobSpec) throws {
        for input in spec.inputs {
            guard let attrs = try? FileManager.default.attributesOfItem(atPath: input.path) else {
                throw JobInputError(input: input, found: nil)
            }
            let size = (attrs[.size] as? Int) ?? -1
            guard size == input.size else { throw JobInputError(input: input, found: "\(size) bytes instead of \(input.size)") }
            if !input.linked, let pinned = input.identity, PinnedInput.identity(ofFile: input.path) != pinned {
                throw JobInputError(input: input, found: "the file was replaced or rewritten")
            }
        }
    }

    /// Records the runner's outcome (the lock held). Every store error is handled here: the new state stays
    /// in the store's memory when the disk refuses it, and a result that cannot be recorded fails the job
    /// with the reason, so a job never stays `running` without a worker.
    private func complete(_ id: String, _ result: Result<PruneReport, Error>) {
        let loaded: Job?
        do { loaded = try store.load(id) } catch { log("job \(id): \(error)"); return }
        guard var job = loaded, !job.status.isTerminal else { return }
        let phase = liveProgress[id]?.phase ?? job.progress?.phase
        let output = try? store.outputDirectory(of: id)
        let text = clientText(job.spec, output: output)
        switch result {
        case .success(let runnerReport):
            let report = clientReport(runnerReport, of: job, output: output, text: text)
            let running = job
            while job.state.finishedShots < report.request.shots,
                  (try? job.state.handle(.shotFinished(job.state.finishedShots + 1))) != nil {}
            _ = try? job.state.handle(.succeed)
            job.result = report
            job.finishedAt = clock.now()
            job.updatedAt = job.finishedAt!
            cancelFlags.remove(id)
            if let p = liveProgress.removeValue(forKey: id) { job.progress = p }
            do { try store.save(job) } catch {
                // The result cannot be recorded: fail the job with the reason (no `succeeded` event is sent).
                log("job \(id): the result could not be recorded: \(error)")
                let reason = text.describe(error)
                var failed = running
                failed.progress = job.progress
                _ = try? failed.state.handle(.fail)
                failed.error = JobFailure(code: Self.storageCode(error), message: "the result could not be recorded: \(reason)", phase: "saving")
                record { try finish(&failed, message: "failed: the result could not be recorded: \(reason)") }
                return
            }
            record { try appendStatus(job, message: "succeeded") }
        case .failure(let error as PruneCancelled) where job.status == .cancelling:
            _ = error
            _ = try? job.state.handle(.runnerStopped)
            record { try finish(&job, message: "cancelled after shot \(job.state.finishedShots)") }
        case .failure where stopping:
            // Shutdown: leave the job running on disk so the next start resumes it.
            if let p = liveProgress[id] { job.progress = p; record { try store.save(job) } }
        case .failure(let error) where error is any RetryableRunnerError:
            log("job \(id): \(error)")
            record { try crashed(&job, error, reason: text.describe(error), phase: phase) }
        case .failure(let error):
            log("job \(id) failed: \(error)")
            let reason = text.describe(error)
            _ = try? job.state.handle(.fail)
            job.error = JobFailure(code: Self.failureCode(of: error), message: reason, phase: phase)
            record { try finish(&job, message: "failed: \(reason)") }
        }
    }

    /// `JobFailure.code` of a store error: `insufficient_storage` for a full disk, else `storage_error`.
    static func storageCode(_ error: Error) -> String {
        if case JobStoreError.diskFull? = error as? JobStoreError { return "insufficient_storage" }
        return "storage_error"
    }

    /// The worker process was killed: queue the job again (attempt + 1, resumed after its last
    /// finished shot) while crash retries are left, else fail it with the reason; a job being
    /// cancelled is cancelled.
    /// `reason` is the error as clients see it (`ClientText.describe`).
    private func crashed(_ job: inout Job, _ error: Error, reason: String, phase: String?) throws {
        let retries = options.crashRetries
        let action = try job.state.handle(.crashed(maxRetries: retries))
        if let p = liveProgress.removeValue(forKey: job.id) { job.progress = p }
        switch (action, job.status) {
        case (.enqueue, _):
            try queue.enqueue(job.id, force: true)
            try persistStatus(&job, message: "\(reason); retry \(job.state.crashes) of \(retries): attempt \(job.state.attempt) resumes after shot \(job.state.finishedShots)")
        case (_, .failed):
            let tried = retries == 0 ? "crash retries are off" : "after \(retries) \(retries == 1 ? "retry" : "retries")"
            job.error = JobFailure(code: Self.failureCode(of: error), message: "\(reason) (\(tried))", phase: phase)
            try finish(&job, message: "failed: \(reason) (\(tried))")
        default:
            try finish(&job, message: "cancelled after shot \(job.state.finishedShots) (\(reason))")
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
                try append(JobEvent(time: clock.now(), kind: .checkpoint, shot: shot, message: "shot \(shot) finished"), to: id)
                changed = true
            }
            if changed { job.progress = p; job.updatedAt = clock.now(); try store.save(job) }
            try append(JobEvent(time: clock.now(), kind: .progress, progress: p, message: p.message), to: id)
        }
    }

    /// Runs `body` with the lock held; an error (a progress line the disk refused: the store keeps it in
    /// memory) is logged and gives `nil`. Only for reads and progress, never for a status change.
    func locked<T>(_ body: () throws -> T) -> T? {
        cond.lock(); defer { cond.unlock() }
        do { return try body() } catch {
            log("\(error)")
            return nil
        }
    }
}

import Foundation
import Checkpoint
import HTTP
import Jobs
import Pruning

extension SurgeonService {
    /// The job `id` if `owner` owns it; 404 otherwise (another owner's job does not exist for them).
    func ownedJob(_ c: RouteContext) throws -> Job {
        let id = c.param("id")
        guard id.hasPrefix("job_"), NameRules.isValid(id), let job = try manager.job(id), job.spec.owner == c.owner else {
            throw Problem.notFound("job \(id.prefix(80))")
        }
        return job
    }

    func resource(_ job: Job) -> JobResource {
        JobResource(job, queuePosition: job.status == .queued ? manager.queuePosition(of: job.id) : nil)
    }

    func jobHeaders(_ job: Job) -> [(String, String)] {
        job.status.isTerminal ? [] : [("Retry-After", String(config.retryAfterSeconds))]
    }

    func createJob(_ c: RouteContext) throws -> HTTPResponse {
        let key = c.request.headers["Idempotency-Key"]
        if let key, key.isEmpty || key.utf8.count > 255 {
            throw Problem.validation([.init("/headers/Idempotency-Key", "must be 1-255 characters")])
        }
        let claimKey = key.map { "\(c.owner)\u{0}\($0)" }
        if let claimKey, !claim(claimKey) { throw Problem.idempotencyInFlight() }
        defer { if let claimKey { release(claimKey) } }

        let body = try Reply.jsonObject(c.request, limit: config.maxJSONBytes)
        var parser = JobRequestParser()
        let parsed = parser.parse(body)
        var errors = parser.errors
        // The one validation (`PruneRequest.validate`, as `surgeon prune` runs it), before names are resolved.
        errors += parser.validationErrors()
        var resolved = parsed
        var modelInfo: BlobInfo?
        if let request = parsed {
            modelInfo = models.get(owner: c.owner, name: request.model)
            if let m = modelInfo { resolved?.model = m.path } else {
                errors.append(.init("/model", "no model named \(request.model); upload it with PUT /v1/models/\(request.model)"))
            }
            if request.calibration.isEmpty {
                if let d = config.defaultCalibration { resolved?.calibration = d } else {
                    errors.append(.init("/calibration", "required: the server has no default calibration text"))
                }
            } else if let t = texts.get(owner: c.owner, name: request.calibration) { resolved?.calibration = t.path } else {
                errors.append(.init("/calibration", "no text named \(request.calibration); upload it with PUT /v1/texts/\(request.calibration)"))
            }
            if let e = request.eval {
                if let t = texts.get(owner: c.owner, name: e) { resolved?.eval = t.path } else {
                    errors.append(.init("/eval", "no text named \(e); upload it with PUT /v1/texts/\(e)"))
                }
            }
        }
        if errors.isEmpty, let resolved { errors = JobRequestParser.fieldErrors(resolved.fileErrors()) }
        // What the model's header decides (read without the weights), as the runner would check it after loading.
        if errors.isEmpty, let resolved, let modelInfo, let header = try? CheckpointLoader.header(path: modelInfo.path) {
            errors = JobRequestParser.fieldErrors(resolved, against: header.config)
        }
        guard errors.isEmpty, let request = parsed, let resolved, let modelInfo else { throw Problem.validation(errors) }

        // The job's plan under its budget (the request's, at most the per-job limit): it runs in memory when that
        // fits and streamed otherwise; a job whose smallest plan exceeds the budget is refused now.
        let budget = min(request.memoryBudget ?? memoryLimit, memoryLimit)
        let estimate = MemoryEstimate(modelPath: modelInfo.path, modelFileBytes: modelInfo.size, modelName: modelInfo.name,
                                      request: resolved, budget: budget)
        if estimate.totalBytes > budget {
            throw Problem.memoryLimit(estimate: estimate.totalBytes, limit: budget, minimum: estimate.plan?.minimumBytes)
        }
        if let plan = estimate.plan {  // the spill, checkpoints and output must fit on the data disk now
            do { try plan.checkDisk(at: URL(fileURLWithPath: config.dataDir)) } catch let e as PruningError {
                throw Problem.insufficientStorage(e.description)
            }
        }
        var planned = resolved
        planned.memoryBudget = budget  // the runner plans the same mode under the same budget

        let spec = JobSpec(request: request, resolved: planned, owner: c.owner, idempotencyKey: key,
                           memoryEstimateBytes: estimate.totalBytes)
        do {
            let (job, created) = try manager.submit(spec, pinInputs: { dir in try self.pin(spec, owner: c.owner, model: modelInfo, into: dir) })
            var headers = [("Location", "/v1/jobs/\(job.id)")] + jobHeaders(job)
            if !created { headers.append(("Idempotent-Replayed", "true")) }
            return Reply.json(201, resource(job), headers: headers)
        } catch let e as JobManagerError {
            throw Problem.idempotencyMismatch(e.description)
        } catch let e as JobQueueFull {
            throw Problem.queueFull(capacity: e.capacity, retryAfter: config.retryAfterSeconds)
        } catch let e as BlobError {
            throw problem(e)
        } catch JobStoreError.diskFull(let path, let message) {
            throw Problem.insufficientStorage("the server ran out of disk space (\(path): \(message)); the job was not created")
        }
    }

    /// The spec with its inputs pinned in the new job's `dir` (`BlobStore.pin`): uploads hard-linked there, so a
    /// re-upload under the same name never changes what the job reads; the resolved paths point at the pins.
    func pin(_ spec: JobSpec, owner: String, model: BlobInfo, into dir: URL) throws -> JobSpec {
        var spec = spec
        func take(_ store: BlobStore, _ role: String, _ name: String) throws -> String {
            guard let pinned = try store.pin(owner: owner, name: name, role: role, into: dir) else {
                throw Problem("input_changed", 409, "Conflict", "the \(role) \(name) was deleted while the job was submitted; submit it again")
            }
            spec.inputs.append(pinned)
            return pinned.path
        }
        spec.resolved.model = try take(models, "model", spec.request.model)
        if spec.inputs.last?.sha256 != model.sha256 {
            throw Problem("input_changed", 409, "Conflict", "the model \(model.name) was replaced while the job was submitted; submit it again")
        }
        if !spec.request.calibration.isEmpty { spec.resolved.calibration = try take(texts, "calibration", spec.request.calibration) }
        if let e = spec.request.eval { spec.resolved.eval = try take(texts, "eval", e) }
        return spec
    }

    func listJobs(_ c: RouteContext) throws -> HTTPResponse {
        let limit = try Reply.limit(c.request)
        let after = c.request.queryValue("after")
        if let after, !(after.hasPrefix("job_") && NameRules.isValid(after)) {
            throw Problem.invalidQuery("after must be a job id from next_cursor")
        }
        let page = try manager.list(owner: c.owner, limit: limit, after: after)
        let data = page.jobs.map(resource)
        return Reply.json(200, Reply.Page(data: data, hasMore: page.hasMore, nextCursor: page.hasMore ? data.last?.id : nil))
    }

    func getJob(_ c: RouteContext) throws -> HTTPResponse {
        let job = try ownedJob(c)
        guard job.status.isTerminal else { return Reply.json(200, resource(job), headers: jobHeaders(job)) }
        if let cached = finishedJobs.response(id: job.id, updatedAt: job.updatedAt) { return cached }
        let response = Reply.json(200, resource(job), headers: jobHeaders(job))
        finishedJobs.store(id: job.id, updatedAt: job.updatedAt, response)
        return response
    }

    func cancelJob(_ c: RouteContext) throws -> HTTPResponse {
        let job = try ownedJob(c)
        do {
            let after = try manager.cancel(job.id)
            return Reply.json(202, resource(after), headers: [("Retry-After", String(config.retryAfterSeconds))])
        } catch is JobTransitionError {
            throw Problem.notCancellable(job.status)
        }
    }

    func deleteJob(_ c: RouteContext) throws -> HTTPResponse {
        let job = try ownedJob(c)
        do { try manager.delete(job.id) } catch JobManagerError.notTerminal(let s) { throw Problem.notTerminal(s) }
        finishedJobs.remove(id: job.id)
        return Reply.noContent()
    }

    func jobCheckpoints(_ c: RouteContext) throws -> HTTPResponse {
        let job = try ownedJob(c)
        let dir = try manager.outputDirectory(of: job.id).appendingPathComponent("checkpoints")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        var items: [CheckpointResource] = []
        for name in names where name.hasPrefix("shot-") {
            guard let shot = Int(name.dropFirst(5)),
                  let data = FileManager.default.contents(atPath: dir.appendingPathComponent(name).appendingPathComponent("checkpoint.json").path)
            else { continue }
            let s = try? JobCoding.decoder().decode(PruneReport.Shot.self, from: data)
            let files = ((try? FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent(name).path)) ?? []).sorted()
            items.append(CheckpointResource(shot: shot, targetSparsity: s?.targetSparsity, achievedSparsity: s?.achievedSparsity,
                                            perplexity: s?.perplexity, files: files))
        }
        items.sort { $0.shot < $1.shot }
        return Reply.json(200, Reply.Page(data: items, hasMore: false, nextCursor: nil), headers: jobHeaders(job))
    }
}

/// One per-shot checkpoint of a job.
struct CheckpointResource: Encodable {
    var object = "checkpoint"
    var shot: Int
    var targetSparsity: Double?
    var achievedSparsity: Double?
    var perplexity: Double?
    var files: [String]
    enum CodingKeys: String, CodingKey {
        case object, shot, perplexity, files, targetSparsity = "target_sparsity", achievedSparsity = "achieved_sparsity"
    }
    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(object, forKey: .object); try c.encode(shot, forKey: .shot); try c.encode(targetSparsity, forKey: .targetSparsity)
        try c.encode(achievedSparsity, forKey: .achievedSparsity); try c.encode(perplexity, forKey: .perplexity); try c.encode(files, forKey: .files)
    }
}

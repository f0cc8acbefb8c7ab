import Foundation
import Jobs
import Pruning
import XCTest

/// `ClientText`: the one turn from internal text to what a client may see.
final class ClientTextTests: XCTestCase {
    func testKnownPlaces_BecomeNames_OtherAbsolutePathsBecomeAServerPath() {
        var text = ClientText()
        text.add("/srv/surgeon/data", as: "the data directory")
        text.add("/srv/surgeon/data/jobs/job_1/output", as: "the job's output", keepsRest: true)
        XCTAssertEqual(text.scrub("cannot write /srv/surgeon/data/jobs/job_1/output/report.json: full"),
                       "cannot write the job's output/report.json: full")
        XCTAssertEqual(text.scrub("open /srv/surgeon/data/models/alice/.data/0a.m.gguf failed"),
                       "open the data directory failed", "below the data directory lie owners' names")
        XCTAssertEqual(text.scrub("/srv/surgeon/data2/x is not /srv/surgeon/data"),
                       "\(ClientText.serverPath) is not the data directory", "a place matches whole path components only")
        XCTAssertEqual(text.scrub("libopenblas at /usr/lib/x86_64/libopenblas.so.0, home \"/root/.cache\"."),
                       "libopenblas at \(ClientText.serverPath), home \"\(ClientText.serverPath)\".")
        XCTAssertEqual(text.scrub("shot 1/2, upload it with PUT /v1/models/m.gguf"), "shot 1/2, upload it with PUT /v1/models/m.gguf",
                       "ratios and the API's routes are not server paths")
    }

    func testForJob_NamesInputsByRoleAndName() {
        let request = PruneRequest(model: "m.gguf", sparsity: 0.5, calibration: "")
        var resolved = request
        resolved.model = "/d/jobs/job_1/inputs/model/m.gguf"
        resolved.calibration = "/etc/surgeon/default.txt"
        let spec = JobSpec(request: request, resolved: resolved, owner: "alice",
                           inputs: [PinnedInput(role: "model", name: "m.gguf", sha256: "", size: 1, path: resolved.model, linked: true)])
        let text = ClientText().forJob(spec, directory: URL(fileURLWithPath: "/d/jobs/job_1"))
        XCTAssertEqual(text.scrub("\(resolved.model): not a GGUF file; calibration \(resolved.calibration) read; wrote /d/jobs/job_1/output/x"),
                       "model \"m.gguf\": not a GGUF file; calibration the server's default calibration text read; wrote the job's output/x")
    }
}

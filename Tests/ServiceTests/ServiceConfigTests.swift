import Foundation
import XCTest
@testable import Service

final class ServiceConfigTests: XCTestCase {
    func packageRoot() -> URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }

    func testShippedConfigFile_LoadsAndValidates() throws {
        let cfg = try ServiceConfig.load(path: packageRoot().appendingPathComponent("config/surgeon.json").path)
        XCTAssertEqual(cfg.port, 8080)
        XCTAssertEqual(cfg.dataDir, "./data")
        XCTAssertEqual(cfg.workers, 1)
        XCTAssertNoThrow(try cfg.validate())
    }

    func testEnvironment_OverridesFileValues() throws {
        var cfg = ServiceConfig()
        try cfg.applyEnvironment(["SURGEON_PORT": "9000", "SURGEON_WORKERS": "3", "SURGEON_ALLOWED_ROOTS": "/a:/b",
                                  "SURGEON_TOKENS": "ci:" + String(repeating: "ab", count: 32), "SURGEON_RUNNER": "simulated"])
        XCTAssertEqual(cfg.port, 9000)
        XCTAssertEqual(cfg.workers, 3)
        XCTAssertEqual(cfg.allowedRoots, ["/a", "/b"])
        XCTAssertEqual(cfg.tokens.map(\.name), ["ci"])
        XCTAssertNoThrow(try cfg.validate())
        XCTAssertThrowsError(try cfg.applyEnvironment(["SURGEON_PORT": "eighty"])) {
            XCTAssertEqual($0 as? ConfigError, .invalid(path: "SURGEON_PORT", message: "eighty is not an integer"))
        }
    }

    func testInvalidSettings_AreRefusedNamingTheSetting() {
        var cfg = ServiceConfig()
        cfg.workers = 0
        XCTAssertThrowsError(try cfg.validate()) { XCTAssertTrue("\($0)".hasPrefix("workers")) }
        cfg = ServiceConfig()
        cfg.tokens = [.init(name: "x", sha256: "short")]
        XCTAssertThrowsError(try cfg.validate()) { XCTAssertTrue("\($0)".contains("64 hex")) }
        XCTAssertThrowsError(try ServiceConfig.parseTokens(["no-colon"], source: "f"))
    }

    func testJobProcessSettings_DefaultOnAndComeFromFileAndEnvironment() throws {
        XCTAssertEqual(ServiceConfig().jobProcesses, true)
        XCTAssertEqual(ServiceConfig().jobCrashRetries, 2)
        var cfg = try JSONDecoder().decode(ServiceConfig.self, from: Data(#"{"job_processes":false,"job_crash_retries":0}"#.utf8))
        XCTAssertEqual(cfg.jobProcesses, false)
        XCTAssertEqual(cfg.jobCrashRetries, 0)
        XCTAssertNoThrow(try cfg.validate())
        try cfg.applyEnvironment(["SURGEON_JOB_PROCESSES": "true", "SURGEON_JOB_CRASH_RETRIES": "5"])
        XCTAssertEqual(cfg.jobProcesses, true)
        XCTAssertEqual(cfg.jobCrashRetries, 5)
        XCTAssertThrowsError(try cfg.applyEnvironment(["SURGEON_JOB_PROCESSES": "maybe"])) {
            XCTAssertEqual($0 as? ConfigError, .invalid(path: "SURGEON_JOB_PROCESSES", message: "maybe is not true or false"))
        }
        cfg.jobCrashRetries = -1
        XCTAssertThrowsError(try cfg.validate()) { XCTAssertTrue("\($0)".hasPrefix("job_crash_retries"), "\($0)") }
    }
}

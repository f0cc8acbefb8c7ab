import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension DiskJobStore {
    /// Removes what crashes leave under `root`, before anything runs (`JobManager.start`):
    /// - `.deleted-<id>` directories of a delete cut short, and `job_*` directories without `state.json`
    ///   (a submit cut short: the job was never acknowledged);
    /// - temporary files and directories (`.tmp-*`, `*.tmp`, `*.tmp-<pid>`) in job directories and their
    ///   output trees, and the activation spill of a shot that was running (`output/spill`, rebuilt by a resumed run);
    /// - the torn last line of an event log (cut back to its last full line).
    ///
    /// A job whose `state.json` does not decode is not removed but renamed `.corrupt-<id>`, so the rest start.
    /// Returns one line per thing removed or moved.
    public func sweep() -> [String] {
        let fm = FileManager.default
        var done: [String] = []
        func remove(_ url: URL, _ why: String) {
            do { try fm.removeItem(at: url); done.append("removed \(url.path) (\(why))") } catch {
                done.append("could not remove \(url.path) (\(why)): \(error.localizedDescription)")
            }
        }
        for name in ((try? fm.contentsOfDirectory(atPath: root.path)) ?? []).sorted() {
            let url = root.appendingPathComponent(name)
            if name.hasPrefix(".deleted-") { remove(url, "a delete cut short"); continue }
            if Self.isTemporary(name) { remove(url, "a temporary file"); continue }
            guard name.hasPrefix("job_"), isDirectory(url) else { continue }
            let state = url.appendingPathComponent("state.json")
            guard fm.fileExists(atPath: state.path) else { remove(url, "a job directory without state.json"); continue }
            if let data = fm.contents(atPath: state.path), (try? JobCoding.decoder().decode(Job.self, from: data)) == nil {
                let aside = root.appendingPathComponent(".corrupt-\(name)")
                if (try? fm.moveItem(at: url, to: aside)) != nil { done.append("moved \(url.path) to \(aside.path) (state.json does not decode)") }
                continue
            }
            sweepTemporaries(in: url, depth: 0, remove)
            let spill = url.appendingPathComponent("output/spill")
            if fm.fileExists(atPath: spill.path) { remove(spill, "the spill of an interrupted shot") }
            if let cut = repairLog(url.appendingPathComponent("events.jsonl")) { done.append(cut) }
        }
        return done
    }

    /// Names the store, `AtomicFile`, shot checkpoints and the safetensors writer give files before their rename.
    static func isTemporary(_ name: String) -> Bool {
        name.hasPrefix(".tmp-") || name.hasSuffix(".tmp") || name.contains(".tmp-")
    }

    private func sweepTemporaries(in dir: URL, depth: Int, _ remove: (URL, String) -> Void) {
        guard depth < 4 else { return }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? [] {
            let url = dir.appendingPathComponent(name)
            if Self.isTemporary(name) { remove(url, "a temporary file of a write cut short") } else if isDirectory(url), name != "inputs" {
                sweepTemporaries(in: url, depth: depth + 1, remove)
            }
        }
    }

    private func isDirectory(_ url: URL) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) && isDir.boolValue
    }

    /// Cuts a log whose last line has no newline (an append cut short) back to its last full line.
    private func repairLog(_ url: URL) -> String? {
        guard let data = FileManager.default.contents(atPath: url.path), let last = data.last, last != 0x0A else { return nil }
        let keep = (data.lastIndex(of: 0x0A).map { $0 + 1 }) ?? 0
        guard truncate(url.path, off_t(keep)) == 0 else { return nil }
        return "cut the torn last line of \(url.path) (\(data.count - keep) bytes)"
    }
}

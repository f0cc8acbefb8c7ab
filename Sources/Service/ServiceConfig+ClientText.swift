import Foundation
import Jobs

extension ServiceConfig {
    /// The server's places clients may hear of, by name (`ClientText`): the data directory, the allowed roots
    /// and the default calibration text. Jobs add their own inputs and directories.
    public var clientText: ClientText {
        var text = ClientText()
        text.add(URL(fileURLWithPath: dataDir).standardizedFileURL.path, as: "the data directory")
        for root in allowedRoots { text.add(URL(fileURLWithPath: root).standardizedFileURL.path, as: "an allowed root") }
        if let d = defaultCalibration {
            text.add(URL(fileURLWithPath: d).standardizedFileURL.path, as: "the server's default calibration text")
        }
        return text
    }
}

extension Problem {
    /// The problem as a client may see it (`SurgeonService.handle` sends every problem through here): known
    /// server places in the detail and field errors named (`ClientText`); a server-side failure (5xx), whose
    /// detail comes from an internal error, also loses every other absolute path. The caller logs the original.
    func forClient(_ text: ClientText) -> Problem {
        var p = self
        if status >= 500 {
            p.detail = text.scrub(detail)
        } else {
            p.detail = text.replacingPlaces(in: detail)
        }
        p.errors = errors?.map { Problem.FieldError($0.pointer, status >= 500 ? text.scrub($0.detail) : text.replacingPlaces(in: $0.detail)) }
        return p
    }
}

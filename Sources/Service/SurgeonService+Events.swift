import Foundation
import HTTP
import Jobs

extension SurgeonService {
    /// A JSON page of events, or an SSE stream with `Accept: text/event-stream`.
    func jobEvents(_ c: RouteContext) throws -> HTTPResponse {
        let job = try ownedJob(c)
        let wantsSSE = (c.request.headers["Accept"] ?? "").lowercased().contains("text/event-stream")
        // Both cursors must be valid when present; Last-Event-ID (a reconnecting EventSource) wins.
        var after = 0
        for text in [c.request.queryValue("after"), c.request.headers["Last-Event-ID"]] {
            guard let text else { continue }
            guard let n = Int(text), n >= 0 else { throw Problem.invalidQuery("after / Last-Event-ID must be an event sequence number") }
            after = n
        }
        if !wantsSSE {
            let limit = try Reply.limit(c.request)
            let events = try manager.events(of: job.id, after: after)
            let page = Array(events.prefix(limit))
            let more = events.count > page.count
            return Reply.json(200, Reply.Page(data: page, hasMore: more, nextCursor: more ? page.last.map { String($0.sequence) } : nil),
                              headers: jobHeaders(job))
        }
        let manager = self.manager
        let start = after
        let keepalive = config.sseKeepaliveSeconds
        let id = job.id
        let headers = HTTPHeaders([("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache"), ("X-Accel-Buffering", "no")])
        var response = HTTPResponse(status: 200, headers: headers, body: .stream { writer in
            try Self.streamEvents(manager.subscribe(to: id), after: start, keepalive: keepalive, writer: writer)
        })
        response.compression = .none
        return response
    }

    /// Writes events after `after` as SSE until the terminal event, with `: keepalive` comments while nothing
    /// happens. Waits on the job's own channel of the event hub (never on the manager's lock). Returns when the
    /// job is terminal or deleted (or the manager stops); throws when the client leaves.
    static func streamEvents(_ events: JobEventHub.Subscription, after: Int, keepalive: Double, writer: HTTPBodyWriter) throws {
        let encoder = JobCoding.encoder()
        var last = after
        try writer.write("retry: 3000\n\n")
        while true {
            switch try events.next(after: last, timeout: keepalive) {
            case .ended:
                return
            case .idle:
                try writer.write(": keepalive\n\n")
            case .events(let batch):
                for e in batch {
                    let data = String(decoding: try encoder.encode(e), as: UTF8.self)
                    try writer.write("id: \(e.sequence)\nevent: \(e.kind.rawValue)\ndata: \(data)\n\n")
                    last = e.sequence
                    if e.isTerminal { return }
                }
            }
        }
    }
}

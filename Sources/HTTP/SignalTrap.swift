import Dispatch
import Foundation

/// Routes SIGTERM/SIGINT (or any signals) to a closure through `DispatchSource`, so `surgeon serve`
/// can call `server.stop(gracePeriod:)` instead of dying mid-request. Keep the returned trap alive.
///
/// ```swift
/// let trap = SignalTrap.install { signal in server.stop(gracePeriod: 10) }
/// server.waitUntilStopped()
/// ```
public final class SignalTrap: @unchecked Sendable {
    private var sources: [any DispatchSourceSignal]

    private init(sources: [any DispatchSourceSignal]) { self.sources = sources }

    /// Ignores the default action of `signals` and calls `handler` with the signal number each time
    /// one arrives (on `queue`).
    public static func install(_ signals: [Int32] = [SIGTERM, SIGINT], queue: DispatchQueue = .global(),
                               handler: @escaping @Sendable (Int32) -> Void) -> SignalTrap {
        let sources = signals.map { number -> any DispatchSourceSignal in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { handler(number) }
            source.resume()
            return source
        }
        return SignalTrap(sources: sources)
    }

    /// Stops delivering signals to the handler (they stay ignored).
    public func cancel() {
        for s in sources {
            s.cancel()
        }
        sources.removeAll()
    }

    deinit { for s in sources { s.cancel() } }
}

extension GGUFFile {
    /// Total elements over all tensors.
    public var parameterCount: Int { tensors.reduce(0) { $0 + $1.count } }

    /// Element counts by storage type, largest first.
    public var parametersByType: [(type: GGMLType, count: Int)] {
        var m: [GGMLType: Int] = [:]
        for t in tensors { m[t.type, default: 0] += t.count }
        return m.map { ($0.key, $0.value) }.sorted { $0.count > $1.count }
    }

    /// A human-readable report for `surgeon inspect`: header, metadata (long arrays summarised),
    /// parameters by type, and the first `maxTensors` tensors with type, PyTorch shape and offset.
    public func inspectionReport(maxTensors: Int = 20) -> String {
        var lines = ["\(path): GGUF v\(version), \(metadata.count) metadata keys, \(tensors.count) tensors, alignment \(alignment), data at byte \(dataOffset)"]
        for (k, v) in metadata { lines.append("  \(k) = \(v)") }
        lines.append("parameters: \(parameterCount) (" + parametersByType.map { "\($0.type): \($0.count)" }.joined(separator: ", ") + ")")
        for t in tensors.prefix(maxTensors) {
            let hf = GGUFNames.huggingFaceName(t.name, architecture: self["general.architecture"]?.stringValue).map { " → \($0)" } ?? ""
            lines.append("  \(t.name)\(hf)  \(t.type)  \(t.shape)  @\(t.offset)")
        }
        if tensors.count > maxTensors { lines.append("  ... \(tensors.count - maxTensors) more tensors") }
        return lines.joined(separator: "\n")
    }
}

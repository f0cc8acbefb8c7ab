import ArgumentParser

@main
struct Surgeon: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "surgeon",
        abstract: "Prune large language models with the LLM Surgeon method.",
        subcommands: [Serve.self, Prune.self, SweepCommand.self, Eval.self, Generate.self, Inspect.self, Convert.self, Export.self, Bench.self, Worker.self, Plan.self])
}

import Foundation
import Pipeline
@testable import Stages

/// Runs `experiment` on `store` without progress output; each stage's outcome by stage id.
func runQuietly(_ experiment: Experiment, store: ArtifactStore) throws -> [String: Engine.Outcome] {
    let engine = Engine(store: store)
    engine.progressMode = .quiet
    var out: [String: Engine.Outcome] = [:]
    for (stage, outcome) in try engine.run(experiment) { out[stage.id] = outcome }
    return out
}

/// The stages of a run that ran (rather than being reused).
func stagesThatRan(_ results: [String: Engine.Outcome]) -> Set<String> {
    Set(results.compactMap { if case .ran = $0.value { return $0.key }; return nil })
}

extension Engine.Outcome {
    /// The run record, whether the stage ran or was reused.
    var record: RunRecord {
        switch self { case .ran(let r), .reused(let r, _): return r }
    }
}

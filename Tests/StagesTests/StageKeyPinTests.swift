import Foundation
import Testing
@testable import Pipeline
@testable import Stages

/// The stage keys of the shipped experiments are pinned: a store built by an earlier version
/// stays fresh after a refactor of how parameters are declared. Inputs and files enter the key
/// by digest, so fixed stand-ins are used for them; what is pinned is everything a stage's own
/// declaration contributes (type, implementation version, parameters with defaults filled in).
/// If a key must change, bump that stage's implementation version and update the pin.
@Suite("stage keys of the shipped experiments")
struct StageKeyPinTests {
    /// Every stage type with every parameter given (integers written as 3.0, numbers as integers,
    /// optional ones set), beside the shipped files.
    static let extras = """
    {"name": "extras", "stages": {
      "corpus": {"type": "unzip", "params": {"path": "x.zip", "member": "m", "url": "http://example.invalid/x.zip", "expected_bytes": 10, "sha256": "ab"}},
      "tokens": {"type": "tokenize", "inputs": {"text": "corpus.text"}, "params": {"format": "text8", "threads": 3}},
      "corpus2": {"type": "unzip", "params": {"path": "y.zip", "members": ["b/*.txt", "a.txt"], "max_member_bytes": 1000, "max_compression_ratio": 10}},
      "texts": {"type": "read-text", "params": {"path": "texts", "files": "*.txt.gz", "compression": "gzip", "max_file_bytes": 1000, "max_compression_ratio": 10}},
      "tokens2": {"type": "tokenize", "inputs": {"text": "texts.text"}, "params": {"format": "normalize", "sentences": "lines", "max_table_words": 1000}},
      "vocab": {"type": "build-vocab", "inputs": {"tokens": "tokens.tokens"}, "params": {"min_count": 3.0, "max_vocab_size": 1000}},
      "subsample": {"type": "subsample", "inputs": {"vocab": "vocab.vocab"}, "params": {"t": 0}},
      "train": {"type": "train", "inputs": {"tokens": "tokens.tokens", "vocab": "vocab.vocab", "subsample": "subsample.subsample"},
                "params": {"model": "cbow", "dim": 50, "window": 8, "negatives": 10, "ns_exponent": 1, "epochs": 2, "learning_rate": 0.03,
                           "min_learning_rate_fraction": 0.001, "threads": 1, "seed": 7, "cbow_mean": false, "batched_negatives": true, "init_range": 1}},
      "more": {"type": "train-more", "inputs": {"model": "train.model", "tokens": "tokens.tokens", "vocab": "vocab.vocab", "subsample": "subsample.subsample"},
               "params": {"epochs": 3, "learning_rate": 0.01, "threads": 2, "seed": 9}},
      "more2": {"type": "train-more", "inputs": {"model": "train.model", "tokens": "tokens.tokens", "vocab": "vocab.vocab", "subsample": "subsample.subsample"}},
      "evaluate": {"type": "evaluate", "inputs": {"embeddings": "more.embeddings"},
                   "params": {"analogies": "a.txt", "similarity": "s.tsv", "restrict_vocab": 5000, "probes": ["x", "y"], "k": 3}},
      "evaluate2": {"type": "evaluate", "inputs": {"embeddings": "train.embeddings"}, "params": {"analogies": null, "similarity": null}},
      "export": {"type": "export", "inputs": {"embeddings": "train.embeddings"}, "params": {"format": "tsv", "path": "out", "normalize": true, "limit": 100}},
      "cooccur": {"type": "cooccur", "inputs": {"tokens": "tokens.tokens", "vocab": "vocab.vocab", "subsample": "subsample.subsample"},
                  "params": {"window": 8.0, "weighting": "uniform", "threads": 1, "seed": 3, "memory_mb": 64}},
      "cooccur2": {"type": "cooccur", "inputs": {"tokens": "tokens.tokens", "vocab": "vocab.vocab"}},
      "glove": {"type": "glove", "inputs": {"cooccur": "cooccur.cooccur", "vocab": "vocab.vocab"},
                "params": {"dim": 20, "x_max": 10, "alpha": 0.5, "epochs": 3, "learning_rate": 0.1, "threads": 1, "seed": 2, "output": "word"}},
      "ppmi": {"type": "ppmi-svd", "inputs": {"cooccur": "cooccur2.cooccur", "vocab": "vocab.vocab"},
               "params": {"dim": 20, "neg": 5, "cds": 1, "eig": 0, "oversampling": 5, "power_iterations": 1, "threads": 1, "seed": 4}},
      "map": {"type": "map", "inputs": {"embeddings": "glove.embeddings"},
              "params": {"words": 300, "method": "tsne", "perplexity": 20, "iterations": 500, "early_exaggeration": 4, "exaggeration_iterations": 100,
                         "learning_rate": 200, "theta": 0.25, "init": "random", "seed": 5, "threads": 1, "tsv": "map.tsv"}},
      "map2": {"type": "map", "inputs": {"embeddings": "ppmi.embeddings"}, "params": {"method": "pca"}}
    }}
    """

    static func keys(_ file: String) throws -> [String: String] {
        var url = URL(fileURLWithPath: CLIPaths.repoRoot + "/experiments/" + file)
        if file == "extras.json" {
            url = FileManager.default.temporaryDirectory.appendingPathComponent("w2v-keypins-\(UUID().uuidString)/extras.json")
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try extras.write(to: url, atomically: true, encoding: .utf8)
        }
        let experiment = try ExperimentLoader.load(url, registry: Word2VecStages.registry)
        let units = experiment.trials.isEmpty ? [experiment] : experiment.trials.map(\.experiment)
        var out: [String: String] = [:]
        for unit in units {
            for stage in unit.stages {
                var inputs: [String: String] = [:]
                for (slot, ref) in stage.inputs { inputs[slot] = "\(ref.stage).\(ref.output)" }
                var files: [String: FileRecord] = [:]
                for (param, _) in stage.parameters.inputFiles {
                    files[param] = FileRecord(path: param, digest: "file:" + param, bytes: 0)
                }
                let identity = StageIdentity(type: stage.type.typeName, implementationVersion: stage.type.implementationVersion,
                                             parameters: stage.keyParameters, inputs: inputs, files: files,
                                             keysFilePaths: stage.type.outputsReferToInputFiles)
                out["\(unit.name)/\(stage.id)"] = identity.key
            }
        }
        return out
    }

    @Test("keys are byte-identical to the ones stores were built with", arguments: [
        "quickstart.json", "baseline.json", "sgns-vs-cbow.json", "sweep-window-negatives.json", "extras.json", "methods.json",
    ])
    func pinned(_ file: String) throws {
        let actual = try Self.keys(file)
        let expected = Self.pins.filter { $0.key.hasPrefix(file.replacingOccurrences(of: ".json", with: "")) }
        #expect(!expected.isEmpty)
        for (name, key) in expected.sorted(by: { $0.key < $1.key }) {
            #expect(actual[name] == key, "key of \(name) changed")
        }
        #expect(Set(actual.keys) == Set(expected.keys))
        for name in Set(actual.keys).subtracting(expected.keys).sorted() { print("PIN \"\(name)\": \"\(actual[name]!)\",") }
    }

    /// Computed on main at f4542ba, before parameters became typed values.
    /// The built-in evaluation sets are the bytes of data/eval/, so an evaluate stage that used
    /// the files by their default path keeps its key now that the defaults are compiled in.
    @Test func builtinEvaluationSetsAreTheShippedFiles() throws {
        for (file, builtin) in [("questions-words.txt", BuiltinDatasets.analogies), ("wordsim353.tsv", BuiltinDatasets.wordSim353)] {
            let store = try ArtifactStore(root: FileManager.default.temporaryDirectory.appendingPathComponent("w2v-builtin-\(UUID().uuidString)"))
            defer { try? FileManager.default.removeItem(at: store.root) }
            let onDisk = try store.fileDigest(URL(fileURLWithPath: CLIPaths.repoRoot + "/data/eval/" + file))
            #expect(builtin.digest == onDisk.digest, "regenerate with scripts/embed-eval-sets.py")
            #expect(UInt64(builtin.byteCount) == onDisk.bytes)
        }
        // And the evaluate stage uses them when the experiment names none.
        let url = URL(fileURLWithPath: CLIPaths.repoRoot + "/experiments/quickstart.json")
        let experiment = try ExperimentLoader.load(url, registry: Word2VecStages.registry)
        let files = try #require(experiment.stage("evaluate")).builtinFiles
        #expect(files["analogies"]?.name == "questions-words.txt")
        #expect(files["similarity"]?.name == "wordsim353.tsv")
    }

    /// Train stage keys (and those downstream of it) moved with train's implementation version 2
    /// (issue 15: the kernels in C with FMA, batched negatives the default), and again with
    /// version 3 of train and train-more (issue 15: `hot_rows`, the hottest output rows staged per
    /// thread), and with version 4 (issue 15: `replica_merge_words`, a replica of both tables per
    /// extra thread by default), and with version 5 (issue 15: `replica_rows`; past the memory budget a
    /// replica holds the most frequent words' rows instead of none), and with version 7 (issue 15:
    /// no replica by default on a vocabulary of at most 4,096 words); the others as before.
    static let pins: [String: String] = [
        "quickstart/corpus": "812e09b32f49cb6339319fb13caf47a3dd615f2dc0ac6c5e2ddc3fe975d603ca",
        "quickstart/evaluate": "7e19bacf3ac060c5fd95f9f7a30e806b8310edb6c216d39191d918195885e48d",
        "quickstart/export": "3ebf7ae048541b7805db71804d774f8a876a288a2f18938c7ca24d8e6bba746d",
        "quickstart/subsample": "247dc3b7523bc2a0efde120e9b0ba24551d637694f0cd350540c06ae463d4602",
        "quickstart/tokens": "1c634c130c7d3574b8797b090e1b1f3e564abd5127cfc2120391b96668c1e2cd",
        "quickstart/train": "7b9286719b30ddd79953616da314f4093705d2e69cc5978bd6023866af98d9e1",
        "quickstart/vocab": "59af6c958e7620602b8fb53759e9d00d6f78bb793af485609c7c2162944ff644",
        "baseline/corpus": "812e09b32f49cb6339319fb13caf47a3dd615f2dc0ac6c5e2ddc3fe975d603ca",
        "baseline/evaluate": "7e19bacf3ac060c5fd95f9f7a30e806b8310edb6c216d39191d918195885e48d",
        "baseline/export": "3ebf7ae048541b7805db71804d774f8a876a288a2f18938c7ca24d8e6bba746d",
        "baseline/subsample": "247dc3b7523bc2a0efde120e9b0ba24551d637694f0cd350540c06ae463d4602",
        "baseline/tokens": "1c634c130c7d3574b8797b090e1b1f3e564abd5127cfc2120391b96668c1e2cd",
        "baseline/train": "7b9286719b30ddd79953616da314f4093705d2e69cc5978bd6023866af98d9e1",
        "baseline/vocab": "59af6c958e7620602b8fb53759e9d00d6f78bb793af485609c7c2162944ff644",
        "sgns-vs-cbow@cbow/map": "95811285efc6cd4cfcaf26644ee26fb320ce3c6aa783f8ea5d02b64bf1301796",
        "sgns-vs-cbow@sgns/map": "95811285efc6cd4cfcaf26644ee26fb320ce3c6aa783f8ea5d02b64bf1301796",
        "extras/map": "be07d2cb3d70b47a1897befb71811dd36d9a9d34617c6850776bd3f4b8754ea6",
        "extras/corpus2": "9ee8fc3be757fb223b7af5c0e745fd3f6e22612858e75cda5f92f52ae20ffefd",
        "extras/texts": "0b92e778a614fcad45794d42fbb7e6cfd897cddd8f29c5b6f684c62fc83fef18",
        "extras/tokens2": "ba8b6bef7e3dbddea0b0b1cde0151f5effcb74e1b35aaadde4b050a939234c29",
        "extras/map2": "9abb236dfcbe56b1bb53cd99b8a30d6962bd742d9fd8e775d4910f2af8969193",
        "sgns-vs-cbow@cbow/corpus": "812e09b32f49cb6339319fb13caf47a3dd615f2dc0ac6c5e2ddc3fe975d603ca",
        "sgns-vs-cbow@cbow/evaluate": "7e19bacf3ac060c5fd95f9f7a30e806b8310edb6c216d39191d918195885e48d",
        "sgns-vs-cbow@cbow/subsample": "247dc3b7523bc2a0efde120e9b0ba24551d637694f0cd350540c06ae463d4602",
        "sgns-vs-cbow@cbow/tokens": "1c634c130c7d3574b8797b090e1b1f3e564abd5127cfc2120391b96668c1e2cd",
        "sgns-vs-cbow@cbow/train": "bea3c48e59a6eec7554abf10f38505ba2255073993c9e6721c9094dc687f87e9",
        "sgns-vs-cbow@cbow/vocab": "59af6c958e7620602b8fb53759e9d00d6f78bb793af485609c7c2162944ff644",
        "sgns-vs-cbow@sgns/corpus": "812e09b32f49cb6339319fb13caf47a3dd615f2dc0ac6c5e2ddc3fe975d603ca",
        "sgns-vs-cbow@sgns/evaluate": "7e19bacf3ac060c5fd95f9f7a30e806b8310edb6c216d39191d918195885e48d",
        "sgns-vs-cbow@sgns/subsample": "247dc3b7523bc2a0efde120e9b0ba24551d637694f0cd350540c06ae463d4602",
        "sgns-vs-cbow@sgns/tokens": "1c634c130c7d3574b8797b090e1b1f3e564abd5127cfc2120391b96668c1e2cd",
        "sgns-vs-cbow@sgns/train": "78b319e55ba6eaca6eea66f1014676c8cacf047435d9c4c077a2fc6f9e7bb982",
        "sgns-vs-cbow@sgns/vocab": "59af6c958e7620602b8fb53759e9d00d6f78bb793af485609c7c2162944ff644",
        "sweep-window-negatives@train.negatives=2,train.window=2/corpus": "812e09b32f49cb6339319fb13caf47a3dd615f2dc0ac6c5e2ddc3fe975d603ca",
        "sweep-window-negatives@train.negatives=2,train.window=2/evaluate": "7e19bacf3ac060c5fd95f9f7a30e806b8310edb6c216d39191d918195885e48d",
        "sweep-window-negatives@train.negatives=2,train.window=2/subsample": "247dc3b7523bc2a0efde120e9b0ba24551d637694f0cd350540c06ae463d4602",
        "sweep-window-negatives@train.negatives=2,train.window=2/tokens": "1c634c130c7d3574b8797b090e1b1f3e564abd5127cfc2120391b96668c1e2cd",
        "sweep-window-negatives@train.negatives=2,train.window=2/train": "80ecc9c29bc3276a2aae1305b90d7e4b5b2adb8baf92f4e0979d0be61591ab9e",
        "sweep-window-negatives@train.negatives=2,train.window=2/vocab": "59af6c958e7620602b8fb53759e9d00d6f78bb793af485609c7c2162944ff644",
        "sweep-window-negatives@train.negatives=2,train.window=5/corpus": "812e09b32f49cb6339319fb13caf47a3dd615f2dc0ac6c5e2ddc3fe975d603ca",
        "sweep-window-negatives@train.negatives=2,train.window=5/evaluate": "7e19bacf3ac060c5fd95f9f7a30e806b8310edb6c216d39191d918195885e48d",
        "sweep-window-negatives@train.negatives=2,train.window=5/subsample": "247dc3b7523bc2a0efde120e9b0ba24551d637694f0cd350540c06ae463d4602",
        "sweep-window-negatives@train.negatives=2,train.window=5/tokens": "1c634c130c7d3574b8797b090e1b1f3e564abd5127cfc2120391b96668c1e2cd",
        "sweep-window-negatives@train.negatives=2,train.window=5/train": "77da0772c9f19c62c4e5fd0465b41e4032ee047a71548b7081ba3b497906edc6",
        "sweep-window-negatives@train.negatives=2,train.window=5/vocab": "59af6c958e7620602b8fb53759e9d00d6f78bb793af485609c7c2162944ff644",
        "sweep-window-negatives@train.negatives=2,train.window=8/corpus": "812e09b32f49cb6339319fb13caf47a3dd615f2dc0ac6c5e2ddc3fe975d603ca",
        "sweep-window-negatives@train.negatives=2,train.window=8/evaluate": "7e19bacf3ac060c5fd95f9f7a30e806b8310edb6c216d39191d918195885e48d",
        "sweep-window-negatives@train.negatives=2,train.window=8/subsample": "247dc3b7523bc2a0efde120e9b0ba24551d637694f0cd350540c06ae463d4602",
        "sweep-window-negatives@train.negatives=2,train.window=8/tokens": "1c634c130c7d3574b8797b090e1b1f3e564abd5127cfc2120391b96668c1e2cd",
        "sweep-window-negatives@train.negatives=2,train.window=8/train": "efb8922537ceafd305c14a1bc8b1a9b174db903765a72a70b670db83563dfa6f",
        "sweep-window-negatives@train.negatives=2,train.window=8/vocab": "59af6c958e7620602b8fb53759e9d00d6f78bb793af485609c7c2162944ff644",
        "sweep-window-negatives@train.negatives=5,train.window=2/corpus": "812e09b32f49cb6339319fb13caf47a3dd615f2dc0ac6c5e2ddc3fe975d603ca",
        "sweep-window-negatives@train.negatives=5,train.window=2/evaluate": "7e19bacf3ac060c5fd95f9f7a30e806b8310edb6c216d39191d918195885e48d",
        "sweep-window-negatives@train.negatives=5,train.window=2/subsample": "247dc3b7523bc2a0efde120e9b0ba24551d637694f0cd350540c06ae463d4602",
        "sweep-window-negatives@train.negatives=5,train.window=2/tokens": "1c634c130c7d3574b8797b090e1b1f3e564abd5127cfc2120391b96668c1e2cd",
        "sweep-window-negatives@train.negatives=5,train.window=2/train": "1916b7d0ab869cc4997f07f333bb3d573317c78c684027d7b9ae186a416f2c8d",
        "sweep-window-negatives@train.negatives=5,train.window=2/vocab": "59af6c958e7620602b8fb53759e9d00d6f78bb793af485609c7c2162944ff644",
        "sweep-window-negatives@train.negatives=5,train.window=5/corpus": "812e09b32f49cb6339319fb13caf47a3dd615f2dc0ac6c5e2ddc3fe975d603ca",
        "sweep-window-negatives@train.negatives=5,train.window=5/evaluate": "7e19bacf3ac060c5fd95f9f7a30e806b8310edb6c216d39191d918195885e48d",
        "sweep-window-negatives@train.negatives=5,train.window=5/subsample": "247dc3b7523bc2a0efde120e9b0ba24551d637694f0cd350540c06ae463d4602",
        "sweep-window-negatives@train.negatives=5,train.window=5/tokens": "1c634c130c7d3574b8797b090e1b1f3e564abd5127cfc2120391b96668c1e2cd",
        "sweep-window-negatives@train.negatives=5,train.window=5/train": "436fdb6a0674b738821a37fe54851c6ee45873e724bb758c0197fc5c24b021af",
        "sweep-window-negatives@train.negatives=5,train.window=5/vocab": "59af6c958e7620602b8fb53759e9d00d6f78bb793af485609c7c2162944ff644",
        "sweep-window-negatives@train.negatives=5,train.window=8/corpus": "812e09b32f49cb6339319fb13caf47a3dd615f2dc0ac6c5e2ddc3fe975d603ca",
        "sweep-window-negatives@train.negatives=5,train.window=8/evaluate": "7e19bacf3ac060c5fd95f9f7a30e806b8310edb6c216d39191d918195885e48d",
        "sweep-window-negatives@train.negatives=5,train.window=8/subsample": "247dc3b7523bc2a0efde120e9b0ba24551d637694f0cd350540c06ae463d4602",
        "sweep-window-negatives@train.negatives=5,train.window=8/tokens": "1c634c130c7d3574b8797b090e1b1f3e564abd5127cfc2120391b96668c1e2cd",
        "sweep-window-negatives@train.negatives=5,train.window=8/train": "bc3a79ab5f9f6755e2096e891ef3feaf18ee61e7dccd6627590cc12a7bb47b35",
        "sweep-window-negatives@train.negatives=5,train.window=8/vocab": "59af6c958e7620602b8fb53759e9d00d6f78bb793af485609c7c2162944ff644",
        "extras/corpus": "4458ddd73cc26e81c5e8e67660b2467f1b6dfd881d9b35b88509a63a80c4bd34",
        "extras/evaluate": "5426bfb9c2e92f092082e683bade648a9c87d09b499dcf1cbab57c9c141cf43e",
        "extras/evaluate2": "991e830eaa8a456d2c3e07e2444adf625e301fd92ad6a68662e21d024741f7c1",
        "extras/export": "80c5915de53a3a5a3242b22f0397369c167192611a54a28b80ef9919c403f59a",
        "extras/more": "ef8673d1ebdcb647b0e377243d3c47037cd636c84926dd010644d20cfb6a979f",
        "extras/more2": "b352b8e065115cc3efb597b17f3c339ce142e6e27423047619f05908d128267d",
        "extras/subsample": "d8f5d6afcaa63f82de0f25002093073b27b2072fc3bc9883e59b32ca6f0562b0",
        "extras/tokens": "1c634c130c7d3574b8797b090e1b1f3e564abd5127cfc2120391b96668c1e2cd",
        "extras/train": "0138ed3a06f4b50a3bb1523aa5926bba9b3663f4ab310768e4d05228a194ef9d",
        "extras/vocab": "324ccd6e58d97eb8336bb090c4289e35b2ca8c5b7b1986e5022642394073b6ae",
        // cooccur: added with the stage (threads and memory_mb are not part of its key).
        "extras/cooccur": "82483d1c563d656f6e9dee62d5996e9ccb37eee103fcd9950565d9661134e600",
        "extras/cooccur2": "a20894284640ccd91c907aee30908080383d7dd7ad53c28deae81b30fac41f10",
        // methods.json and the glove / ppmi-svd extras: pinned when those stage types were added.
        "methods/corpus": "812e09b32f49cb6339319fb13caf47a3dd615f2dc0ac6c5e2ddc3fe975d603ca",
        "methods/tokens": "1c634c130c7d3574b8797b090e1b1f3e564abd5127cfc2120391b96668c1e2cd",
        "methods/vocab": "59af6c958e7620602b8fb53759e9d00d6f78bb793af485609c7c2162944ff644",
        "methods/subsample": "247dc3b7523bc2a0efde120e9b0ba24551d637694f0cd350540c06ae463d4602",
        "methods/sgns": "7b9286719b30ddd79953616da314f4093705d2e69cc5978bd6023866af98d9e1",
        "methods/cbow": "92a1c88b0ae3dc19dea890f2592b2342f146f5e97aa33434e67ccf1f5ee47919",
        "methods/cooccur-glove": "a20894284640ccd91c907aee30908080383d7dd7ad53c28deae81b30fac41f10",
        "methods/glove": "bd9bb568af01a960566816efbefc89b8cc7709a07e771871b3fea75965ad3e59",
        "methods/cooccur-ppmi": "a3e1f84cb7c4751589f67a798b25f89dd60cbc46c0ab4c9dd085e37455ca4610",
        "methods/ppmi-svd": "fc6a0dbb6e12a93f3d7188f254ff87e6672e3327a0c66a8aebecc9d8563f251c",
        "methods/evaluate-sgns": "63d25695d86598240643a9684d48bdeb56623df2d23dee55308aa1337a82f102",
        "methods/evaluate-cbow": "165949a3cfb61ade83abc526a173ed4777cff05864638e6c44ff4fe6c6ff82a5",
        "methods/evaluate-glove": "d9f82f152eb5f9403d9b402f0db707df301c8c0104ee977839d7c26cad4e6162",
        "methods/evaluate-ppmi-svd": "4ddb24f45bf2ca5bfc86d4f28e96d5428a7ee66e4f9c38064c1a489a25f9bccd",
        "extras/glove": "d0e2b981935de835e2d0ed21a503bcb6e04ca1cbbdfce455e1b987406dd0048a",
        "extras/ppmi": "6054b61f7e7321882c70cd24a9d96518982cea5ba8896f6c5bef3f64c8bc5f67",
    ]
}

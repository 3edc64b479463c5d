import Foundation
import Testing

/// The word maps end to end: `experiments/sgns-vs-cbow.json` maps both models, the report draws
/// them side by side, and headless Chromium renders the page (labels apart, groups coloured).
@Suite("word maps end to end", .serialized)
struct MapReportTests {
    /// With a release binary (CI), the shipped experiment as it is; with the debug build, the
    /// same experiment on a slice of the sample with smaller maps, so `swift test` stays quick.
    static var release: Bool { !(ProcessInfo.processInfo.environment["W2V_PIPE_TEST_BINARY"] ?? "").isEmpty }

    static func chromium() -> String? {
        for name in ["chromium", "chromium-browser", "google-chrome", "chrome"] {
            let path = (try? CLI.command("sh", ["-c", "command -v \(name)"])) ?? ""
            let found = path.trimmingCharacters(in: .whitespacesAndNewlines)
            if !found.isEmpty { return found }
        }
        return nil
    }

    func project() throws -> (URL, words: Int) {
        if Self.release { return (try CLI.makeProject(), 5000) }
        let dir = try CLI.makeSliceProject(words: 60000)
        _ = try CLI.python("""
        import json
        p = '\(dir.path)/experiments/sgns-vs-cbow.json'
        d = json.load(open(p))
        d['stages']['corpus']['params']['path'] = '../data/slice.zip'
        d['stages']['train']['params']['epochs'] = 1
        d['stages']['map']['params'].update({'words': 400, 'iterations': 300})
        json.dump(d, open(p, 'w'))
        """)
        return (dir, 400)
    }

    @Test func bothModelsAreMappedDrawnAndRendered() throws {
        let (dir, words) = try project()
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = try CLI.run(["run", "experiments/sgns-vs-cbow.json", "--progress", "none"], cwd: dir)
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stdout.contains("trustworthiness 0."), "\(run.stdout)")

        // The coordinates as TSV, one file per trial: a header, then every mapped word once.
        for trial in ["sgns", "cbow"] {
            let tsv = try String(contentsOf: dir.appendingPathComponent("exports/map.\(trial).tsv"), encoding: .utf8)
            let lines = tsv.split(separator: "\n")
            #expect(lines.first == "word\tx\ty\tcount")
            #expect(lines.count == words + 1)
            let rows = lines.dropFirst().map { $0.split(separator: "\t") }
            #expect(rows.allSatisfy { $0.count == 4 && Double($0[1])?.isFinite == true && Double($0[2])?.isFinite == true })
            #expect(Set(rows.map { $0[0] }).count == words)
            let counts = rows.map { UInt64($0[3]) ?? 0 }
            #expect(counts == counts.sorted(by: >), "most frequent first")
        }

        let report = try CLI.run(["compare", "experiments/sgns-vs-cbow.json", "--html", "report.html"], cwd: dir)
        #expect(report.status == 0, "\(report.stderr)")
        let html = try String(contentsOf: dir.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(!html.contains("<script"), "the report needs no scripts")
        let figures = html.components(separatedBy: "<figure class=\"map\">").dropFirst()
        #expect(figures.count == 2, "one map per model")
        for figure in figures {
            let svg = figure.components(separatedBy: "</svg>")[0]
            #expect(svg.components(separatedBy: "<circle").count - 1 == words, "every word is a point")
            #expect(figure.contains("trustworthiness 0."))
            #expect(figure.contains("numbers ("), "the fixed groups are in the legend")
        }
        #expect(html.contains(">sgns</text>") && html.contains(">cbow</text>"))

        guard let chromium = Self.chromium() else {
            // CI installs Chromium and sets this, so the rendering is checked there.
            #expect(ProcessInfo.processInfo.environment["W2V_PIPE_REQUIRE_CHROMIUM"] == nil, "Chromium not found")
            print("note: Chromium not found; the rendering checks were skipped")
            return
        }
        // Rendered label boxes, measured by the browser in a copy of the page with a probe
        // script (the report itself has none).
        let probe = """
        <script>
        const out = [];
        document.querySelectorAll('figure.map svg').forEach((svg, m) => {
          const boxes = [...svg.querySelectorAll('g.labels text')].map(t => t.getBoundingClientRect());
          let overlaps = 0;
          for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
            const a = boxes[i], b = boxes[j];
            if (a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5) overlaps++;
          }
          const r = svg.getBoundingClientRect();
          out.push('map' + m + ' labels=' + boxes.length + ' overlaps=' + overlaps + ' width=' + Math.round(r.width));
        });
        document.body.insertAdjacentHTML('beforeend', '<pre id="probe">' + out.join(';') + '</pre>');
        </script>
        """
        try html.replacingOccurrences(of: "</body>", with: probe + "</body>")
            .write(to: dir.appendingPathComponent("probe.html"), atomically: true, encoding: .utf8)
        let flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1600,1200"]
        let dom = try CLI.command(chromium, flags + ["--dump-dom", dir.appendingPathComponent("probe.html").absoluteString])
        let line = dom.components(separatedBy: "<pre id=\"probe\">").dropFirst().last?.components(separatedBy: "</pre>").first ?? ""
        let maps = line.split(separator: ";")
        #expect(maps.count == 2, "probe: \(line)")
        for m in maps {
            #expect(m.contains("overlaps=0"), "rendered labels overlap: \(m)")
            let labels = m.split(separator: " ").first { $0.hasPrefix("labels=") }.flatMap { Int($0.dropFirst(7)) } ?? 0
            #expect(labels >= (Self.release ? 100 : 10), "too few labels placed: \(m)")
        }

        // A screenshot of the maps (the rest of the page hidden, since the charts share the
        // palette): the groups' colours are on it.
        try html.replacingOccurrences(of: "</head>", with: "<style>body > :not(div.maps) { display: none; }</style></head>")
            .write(to: dir.appendingPathComponent("maps.html"), atomically: true, encoding: .utf8)
        let png = dir.appendingPathComponent("maps.png")
        _ = try CLI.command(chromium, flags.dropLast() + ["--window-size=1600,1000", "--screenshot=\(png.path)",
                                                      dir.appendingPathComponent("maps.html").absoluteString])
        let bytes = try Data(contentsOf: png)
        #expect(bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]), "a PNG")
        let colours = try CLI.python("""
        try:
            from PIL import Image
        except ImportError:
            print('no-pil'); raise SystemExit
        im = Image.open('\(png.path)').convert('RGB')
        w, h = im.size
        px = im.load()
        # The first three group colours (days, months, numbers when the map has them all).
        wanted = {(0x1f, 0x77, 0xb4): 0, (0xd6, 0x27, 0x28): 0, (0x2c, 0xa0, 0x2c): 0}
        for y in range(h):
            for x in range(0, w, 1):
                c = px[x, y]
                for k in wanted:
                    if abs(c[0] - k[0]) + abs(c[1] - k[1]) + abs(c[2] - k[2]) < 24: wanted[k] += 1
        print(' '.join(str(v) for v in wanted.values()))
        """)
        if colours == "no-pil" {
            #expect(ProcessInfo.processInfo.environment["W2V_PIPE_REQUIRE_CHROMIUM"] == nil, "Pillow not found")
        } else {
            let counts = colours.split(separator: " ").compactMap { Int($0) }
            #expect(counts.count == 3 && counts.filter { $0 > 20 }.count >= (Self.release ? 3 : 1), "group colours on the screenshot: \(colours)")
        }
    }
}

@Suite("map stage: settings it cannot honour")
struct MapStageErrorTests {
    @Test func refusalsSayWhatToChange() throws {
        let dir = try CLI.makeSliceProject(words: 20000)
        defer { try? FileManager.default.removeItem(at: dir) }
        func experiment(_ map: String) throws {
            _ = try CLI.python("""
            import json
            d = {"name": "m", "stages": {
              \(CLI.sliceDataStages)
              "train": {"type": "train", "inputs": {"tokens": "tokens.tokens", "vocab": "vocab.vocab", "subsample": "subsample.subsample"},
                        "params": {"dim": 8, "epochs": 1, "threads": 1}},
              "map": {"type": "map", "inputs": {"embeddings": "train.embeddings"}, "params": json.loads('\(map)')}}}
            json.dump(d, open('\(dir.path)/experiments/m.json', 'w'))
            """)
        }
        // Perplexity above what the vocabulary allows: the error names the stage, the bound and the fix.
        try experiment(#"{"perplexity": 900, "words": 100000}"#)
        let high = try CLI.run(["run", "experiments/m.json", "--progress", "none"], cwd: dir)
        #expect(high.status != 0)
        #expect(high.stderr.contains("perplexity 900.0 is too high for") && high.stderr.contains("lower perplexity"), "\(high.stderr)")
        // Out-of-range values are refused before anything runs, with the JSON path.
        try experiment(#"{"theta": 2, "words": 2}"#)
        let range = try CLI.run(["run", "experiments/m.json", "--progress", "none"], cwd: dir)
        #expect(range.status != 0)
        #expect(range.stderr.contains("stages.map.params.theta") && range.stderr.contains("stages.map.params.words"), "\(range.stderr)")
        // PCA needs no perplexity; the TSV lands where asked.
        try experiment(#"{"method": "pca", "words": 50, "tsv": "../out/pca.tsv"}"#)
        let pca = try CLI.run(["run", "experiments/m.json", "--progress", "none"], cwd: dir)
        #expect(pca.status == 0, "\(pca.stderr)")
        #expect(pca.stdout.contains("pca map of 50 words"), "\(pca.stdout)")
        let tsv = try String(contentsOf: dir.appendingPathComponent("out/pca.tsv"), encoding: .utf8)
        #expect(tsv.split(separator: "\n").count == 51)
    }
}

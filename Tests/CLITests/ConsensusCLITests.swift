import Foundation
import Testing

@Suite struct ConsensusCLITests {
    static let numeric = """
        {"expert": "a", "text": "42"}
        {"expert": "b", "text": "forty-two", "confidence": 0.9}
        {"expert": "c", "text": "42.0"}
        {"expert": "d", "text": "The answer is 42."}
        {"expert": "e", "text": "43", "weight": 2}

        """

    static let numericGolden = """
        {
          "consensus": "42",
          "expert": "a",
          "agreement": 0.661017,
          "mode": "factual",
          "answer": "42",
          "answers": [
            {"expert": "a", "support": 0.661017, "group": 0, "weight": 1, "confidence": 1, "value": "42"},
            {"expert": "b", "support": 0.661017, "group": 0, "weight": 1, "confidence": 0.9, "value": "42"},
            {"expert": "c", "support": 0.661017, "group": 0, "weight": 1, "confidence": 1, "value": "42"},
            {"expert": "d", "support": 0.661017, "group": 0, "weight": 1, "confidence": 1, "value": "42"},
            {"expert": "e", "support": 0.338983, "group": 1, "weight": 2, "confidence": 1, "value": "43"}
          ],
          "dissent": ["e"],
          "excluded": []
        }

        """

    static let sky = """
        [
          {"expert": "alice", "text": "The sky looks blue because sunlight is scattered by the molecules in the atmosphere, and blue light, with its shorter wavelength, is scattered much more than red light. This is called Rayleigh scattering."},
          {"expert": "bob", "text": "Rayleigh scattering: molecules in the air scatter short-wavelength blue light far more strongly than the longer red wavelengths, so scattered blue sunlight reaches our eyes from every direction of the sky."},
          {"expert": "carol", "text": "Because of Rayleigh scattering. Sunlight hits the gas molecules in the atmosphere and the shorter blue wavelengths are scattered more than red light, so the sky appears blue.", "weight": 1.5},
          {"expert": "erin", "text": "I recommend a simple pasta recipe with tomatoes, garlic and fresh basil for dinner tonight.", "confidence": 0.5}
        ]
        """

    static let skyGolden = """
        {
          "consensus": "Because of Rayleigh scattering. Sunlight hits the gas molecules in the atmosphere and the shorter blue wavelengths are scattered more than red light, so the sky appears blue.",
          "expert": "carol",
          "agreement": 0.875,
          "mode": "text",
          "answer": null,
          "answers": [
            {"expert": "alice", "support": 0.412654, "group": 0, "weight": 1, "confidence": 1},
            {"expert": "bob", "support": 0.378279, "group": 0, "weight": 1, "confidence": 1},
            {"expert": "carol", "support": 0.497917, "group": 0, "weight": 1.5, "confidence": 1},
            {"expert": "erin", "support": 0.125, "group": 1, "weight": 1, "confidence": 0.5}
          ],
          "dissent": ["erin"],
          "excluded": [],
          "matrix": [
            [1, 0.213115, 0.291667, 0],
            [0.213115, 1, 0.2, 0],
            [0.291667, 0.2, 1, 0],
            [0, 0, 0, 1]
          ]
        }

        """

    @Test func printsConsensusText() throws {
        let r = try CLI.run(["consensus"], stdin: Data(Self.numeric.utf8))
        #expect(r.status == 0)
        #expect(r.out == "42\n")
        #expect(r.err.isEmpty)
    }

    @Test func jsonReportIsGoldenAndDeterministic() throws {
        let first = try CLI.run(["consensus", "--json", "-"], stdin: Data(Self.numeric.utf8))
        #expect(first.status == 0)
        #expect(first.out == Self.numericGolden)
        let second = try CLI.run(["consensus", "--json"], stdin: Data(Self.numeric.utf8))
        #expect(second.stdout == first.stdout)
    }

    @Test func textAnswersWithMatrixFromAFile() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("sky.json")
        try Data(Self.sky.utf8).write(to: file)
        let r = try CLI.run(["consensus", "--json", "--matrix", file.path])
        #expect(r.status == 0)
        #expect(r.out == Self.skyGolden)
        let plain = try CLI.run(["consensus", "--matrix", file.path])
        let lines = plain.out.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 8)
        #expect(lines[1] == "")
        #expect(lines[2] == "expert\talice\tbob\tcarol\terin")
        #expect(lines[3].hasPrefix("alice\t1.000\t0.213\t0.292\t0.000"))
    }

    @Test func thresholdChangesThePositions() throws {
        let r = try CLI.run(["consensus", "--json", "--threshold", "0.25"], stdin: Data(Self.sky.utf8))
        #expect(r.status == 0)
        #expect(r.out.contains("\"dissent\": [\"bob\", \"erin\"]"))
    }

    @Test func configSectionAndModeFlag() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("copilot.toml")
        try Data("[consensus]\nthreshold = 0.25\n".utf8).write(to: config)
        let r = try CLI.run(["consensus", "--json", "--config", config.path], stdin: Data(Self.sky.utf8))
        #expect(r.status == 0)
        #expect(r.out.contains("\"dissent\": [\"bob\", \"erin\"]"))
        // The flag overrides the file.
        let flag = try CLI.run(["consensus", "--json", "--config", config.path, "--threshold", "0.15"], stdin: Data(Self.sky.utf8))
        #expect(flag.out.contains("\"dissent\": [\"erin\"]"))
        // Compared as text, "forty-two" shares no word with the others; 42, 42.0 and "answer 42" do.
        let text = try CLI.run(["consensus", "--json", "--mode", "text"], stdin: Data(Self.numeric.utf8))
        #expect(text.status == 0)
        #expect(text.out.contains("\"mode\": \"text\""))
        #expect(text.out.contains("\"dissent\": [\"b\", \"e\"]"))
        try Data("[consensus]\ntreshold = 0.2\n".utf8).write(to: config)
        let typo = try CLI.run(["consensus", "--config", config.path], stdin: Data(Self.numeric.utf8))
        #expect(typo.status == 1)
        #expect(typo.err.contains("treshold"))
    }

    @Test func badThresholdIsAUsageError() throws {
        let r = try CLI.run(["consensus", "--threshold", "1.5"], stdin: Data(Self.numeric.utf8))
        #expect(r.status == 64)
        #expect(r.err.contains("--threshold"))
    }

    @Test func emptyListIsAnError() throws {
        for input in ["", "[]", "\n\n"] {
            let r = try CLI.run(["consensus"], stdin: Data(input.utf8))
            #expect(r.status == 1)
            #expect(r.err.contains("holds no answers"))
        }
    }

    @Test func emptyTextsAreLeftOutWithAWarning() throws {
        let r = try CLI.run(["consensus"], stdin: Data("{\"expert\": \"x\", \"text\": \"\"}\n{\"expert\": \"y\", \"text\": \"Paris\"}\n".utf8))
        #expect(r.status == 0)
        #expect(r.out == "Paris\n")
        #expect(r.err.contains("line 1") && r.err.contains("\"x\"") && r.err.contains("left out"))
        let all = try CLI.run(["consensus"], stdin: Data("{\"text\": \"\"}\n{\"text\": \" ?! \"}\n".utf8))
        #expect(all.status == 1)
        #expect(all.err.contains("empty text"))
    }

    @Test func malformedJSONNamesTheLine() throws {
        let r = try CLI.run(["consensus"], stdin: Data("{\"text\": \"a\"}\n{\"text\": \"b\"}\n{\"text\": \"c\"\n".utf8))
        #expect(r.status == 1)
        #expect(r.err.contains("stdin line 3"))
        #expect(r.err.contains("malformed JSON"))
    }

    @Test func negativeWeightNamesTheExpertAndMissingWeightIsOne() throws {
        let bad = try CLI.run(["consensus"], stdin: Data("{\"expert\": \"bob\", \"text\": \"yes\", \"weight\": -0.5}\n".utf8))
        #expect(bad.status == 1)
        #expect(bad.err.contains("bob") && bad.err.contains("weight") && bad.err.contains("-0.5"))
        let missing = try CLI.run(["consensus", "--json"], stdin: Data("{\"expert\": \"bob\", \"text\": \"yes\"}\n".utf8))
        #expect(missing.status == 0)
        #expect(missing.out.contains("\"weight\": 1,"))
    }

    @Test func nonUTF8IsAnError() throws {
        var bytes = Data("{\"expert\": \"a\", \"text\": \"ok\"}\n{\"expert\": \"b\", \"text\": \"caf".utf8)
        bytes.append(contentsOf: [0xE9, 0x22, 0x7D, 0x0A])
        let r = try CLI.run(["consensus"], stdin: bytes)
        #expect(r.status == 1)
        #expect(r.err.contains("line 2") && r.err.contains("UTF-8"))
    }

    static let capital = """
        {"expert": "ann", "text": "The capital of Australia is Canberra."}
        {"expert": "ben", "text": "Canberra, not Sydney."}
        {"expert": "cy", "text": "Australia's capital is Canberra."}
        {"expert": "dee", "text": "The capital of Australia is Sydney."}

        """

    static let capitalGolden = """
        {
          "consensus": "The capital of Australia is Canberra.",
          "expert": "ann",
          "agreement": 0.72619,
          "mode": "text",
          "answer": null,
          "answers": [
            {"expert": "ann", "support": 0.392857, "group": 0, "weight": 1, "confidence": 1, "claims": ["canberra"]},
            {"expert": "ben", "support": 0.321429, "group": 0, "weight": 1, "confidence": 1, "claims": ["canberra", "not sydney"]},
            {"expert": "cy", "support": 0.392857, "group": 0, "weight": 1, "confidence": 1, "claims": ["canberra"]},
            {"expert": "dee", "support": 0.25, "group": 1, "weight": 1, "confidence": 1, "claims": ["sydney"]}
          ],
          "dissent": ["dee"],
          "excluded": [],
          "contradictions": [
            {"experts": ["ann", "dee"], "reason": "canberra vs sydney"},
            {"experts": ["ben", "dee"], "reason": "not sydney vs sydney"},
            {"experts": ["cy", "dee"], "reason": "canberra vs sydney"}
          ]
        }

        """

    @Test func contradictionsAreListedWithTheClaimsOfEachAnswer() throws {
        let r = try CLI.run(
            ["consensus", "--json", "--question", "What is the capital of Australia?"], stdin: Data(Self.capital.utf8))
        #expect(r.status == 0)
        #expect(r.out == Self.capitalGolden)
        #expect(r.err.isEmpty)
        // Without the claim check the Sydney answer joins the Canberra position.
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("copilot.toml")
        try Data("[consensus]\nclaim_max_words = 0\n".utf8).write(to: config)
        let off = try CLI.run(["consensus", "--json", "--config", config.path], stdin: Data(Self.capital.utf8))
        #expect(off.status == 0)
        #expect(off.out.contains("\"dissent\": [\"ben\"]") && !off.out.contains("contradictions"))
        let text = try CLI.run(["consensus", "--json", "--mode", "text"], stdin: Data(Self.capital.utf8))
        #expect(!text.out.contains("contradictions"))
    }

    @Test func missingFileIsAnError() throws {
        let r = try CLI.run(["consensus", "/nonexistent/answers.jsonl"])
        #expect(r.status == 1)
        #expect(r.err.contains("/nonexistent/answers.jsonl"))
    }
}

import Foundation
import Testing

@Suite struct TopLevelTests {
    @Test func versionPrintsSemver() throws {
        let r = try CLI.run(["--version"])
        #expect(r.status == 0)
        #expect(r.out.split(separator: ".").count == 3)
    }

    @Test func helpListsEverySubcommandWithAnExample() throws {
        let r = try CLI.run(["--help"])
        #expect(r.status == 0)
        let listed = r.out.components(separatedBy: "SUBCOMMANDS:").last ?? ""
        let names = listed.split(separator: "\n").compactMap { line -> String? in
            let t = line.trimmingCharacters(in: .whitespaces)
            guard line.hasPrefix("  "), !line.hasPrefix("    "), let first = t.split(separator: " ").first else { return nil }
            return first == "See" ? nil : String(first)
        }
        #expect(names.contains("bench"))
        for name in names {
            #expect(r.out.contains("copilot \(name) ") || r.out.contains("| copilot \(name)"), "top-level example for \(name)")
            let sub = try CLI.run([name, "--help"])
            #expect(sub.status == 0, "\(name) --help")
            #expect(sub.out.contains("copilot \(name)"), "\(name) --help shows an example")
        }
    }

    @Test func completionScriptsGenerate() throws {
        for shell in ["bash", "zsh", "fish"] {
            let r = try CLI.run(["--generate-completion-script", shell])
            #expect(r.status == 0)
            #expect(r.out.contains("copilot"))
        }
    }

    @Test func unknownSubcommandFailsWithUsage() throws {
        let r = try CLI.run(["frobnicate"])
        #expect(r.status != 0 && r.status < 128)
        #expect(r.err.contains("frobnicate"))
    }
}
